package cli

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// azFunction shapes a FunctionEnvelope the way az prints it: the
// properties lifted to the top level with their snake_case names in
// camelCase (invoke_url_template becomes invokeUrlTemplate), the
// envelope's own fields (id, name "{app}/{function}", type) kept, and
// resourceGroup added.
func azFunction(env map[string]any) map[string]any {
	out := map[string]any{}
	if p, ok := env["properties"].(map[string]any); ok {
		for k, v := range p {
			out[camelCase(k)] = v
		}
	}
	for k, v := range env {
		if k != "properties" {
			out[k] = v
		}
	}
	if id, ok := env["id"].(string); ok {
		out["resourceGroup"] = groupOf(id)
	}
	return out
}

// camelCase turns snake_case into camelCase; other names are kept.
func camelCase(s string) string {
	parts := strings.Split(s, "_")
	var b strings.Builder
	for i, p := range parts {
		if p == "" {
			continue
		}
		if i > 0 && b.Len() > 0 {
			p = strings.ToUpper(p[:1]) + p[1:]
		}
		b.WriteString(p)
	}
	if b.Len() == 0 {
		return s
	}
	return b.String()
}

// functionTable is the -o table view of functions.
const functionTable = "{Name:name, ResourceGroup:resourceGroup, Language:language, IsDisabled:isDisabled, InvokeUrlTemplate:invokeUrlTemplate}"

func functionList(g *globals) *cobra.Command {
	cmd, _ := appCmd(g, "list", "List a function app's functions",
		`  lapis functionapp function list -g myapp-rg -n myfuncapp --query "[].invokeUrlTemplate" -o tsv`,
		func(cmd *cobra.Command, c *client, site string) error {
			items, err := c.list(cmd.Context(), site+"/functions", webAPI)
			if err != nil {
				return err
			}
			out := make([]any, 0, len(items))
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					out = append(out, azFunction(m))
				}
			}
			return g.printTable(out, "[]."+functionTable)
		})
	return cmd
}

// functionCmd is appCmd for commands on one function (--function-name).
func functionCmd(g *globals, use, short, example string, run func(cmd *cobra.Command, c *client, fn string) error) (*cobra.Command, *appRef) {
	var fn string
	cmd, ref := appCmd(g, use, short, example, func(cmd *cobra.Command, c *client, site string) error {
		return run(cmd, c, site+"/functions/"+url.PathEscape(fn))
	})
	ref.required = append(ref.required, requiredFlag{&fn, "--function-name"})
	cmd.Flags().StringVar(&fn, "function-name", "", "name of the function")
	// The seed's spelling: --function-app APP --name FUNCTION.
	var app string
	cmd.Flags().StringVar(&app, "function-app", "", "name of the function app; --name then names the function")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if app == "" {
			return nil
		}
		if fn == "" {
			fn, ref.name = ref.name, app
			return nil
		}
		if ref.name != "" && !strings.EqualFold(ref.name, app) {
			return usagef("--function-app %s and --name %s name two function apps: give the function with --function-name or --name", app, ref.name)
		}
		ref.name = app
		return nil
	}
	return cmd, ref
}

func functionShow(g *globals) *cobra.Command {
	cmd, _ := functionCmd(g, "show", "Show a function",
		"  lapis functionapp function show -g myapp-rg -n myfuncapp --function-name hello --query invokeUrlTemplate -o tsv\n"+
			"  lapis functionapp function show -g myapp-rg --function-app myfuncapp --name hello --query invokeUrlTemplate -o tsv",
		func(cmd *cobra.Command, c *client, fn string) error {
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodGet, fn, webAPI, nil, &out); err != nil {
				return err
			}
			return g.printTable(azFunction(out), functionTable)
		})
	return cmd
}

// keyInfo is what az prints of a key or a set of keys: a key's
// {"name", "value"}, or a function's {"keyName": "value", ...}, without
// ARM's envelope when the server sends one.
func keyInfo(out map[string]any) map[string]any {
	if p, ok := out["properties"].(map[string]any); ok {
		return p
	}
	return out
}

// keyBody is the PUT body of a key; a missing value lets the server make one.
func keyBody(name, value string, valueSet bool) map[string]any {
	props := map[string]any{"name": name}
	if valueSet {
		props["value"] = value
	}
	return map[string]any{"properties": props}
}

// hostKeyTypes maps --key-type to its path segment.
var hostKeyTypes = map[string]string{"functionkeys": "functionkeys", "systemkeys": "systemkeys", "masterkey": "masterkey"}

// hostKeyFlags are --key-type and --key-name of the host key commands.
type hostKeyFlags struct{ keyType, keyName, keyValue string }

func (k *hostKeyFlags) add(cmd *cobra.Command, value bool) {
	cmd.Flags().StringVarP(&k.keyType, "key-type", "t", "", "functionKeys, systemKeys or masterKey")
	cmd.Flags().StringVar(&k.keyName, "key-name", "", "name of the key (masterKey: _master)")
	if value {
		cmd.Flags().StringVar(&k.keyValue, "key-value", "", "value of the key (default: a new random one)")
	}
}

// path checks the flags and returns the key's path below the site.
func (k *hostKeyFlags) path() (string, error) {
	if k.keyType == "" {
		return "", usagef("the following arguments are required: --key-type/-t")
	}
	seg, ok := hostKeyTypes[strings.ToLower(k.keyType)]
	if !ok {
		return "", usagef("argument --key-type/-t: invalid choice: '%s' (choose from 'functionKeys', 'masterKey', 'systemKeys')", k.keyType)
	}
	if k.keyName == "" && seg == "masterkey" {
		k.keyName = "_master"
	}
	if k.keyName == "" {
		return "", usagef("the following arguments are required: --key-name")
	}
	return "/host/default/" + seg + "/" + url.PathEscape(k.keyName), nil
}

func hostKeysList(g *globals) *cobra.Command {
	cmd, _ := appCmd(g, "list", "List a function app's host keys: the master key, function keys and system keys",
		"  lapis functionapp keys list -g myapp-rg -n myfuncapp --query masterKey -o tsv",
		func(cmd *cobra.Command, c *client, site string) error {
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodPost, site+"/host/default/listkeys", webAPI, nil, &out); err != nil {
				return err
			}
			return g.print(keyInfo(out))
		})
	return cmd
}

func hostKeysSet(g *globals) *cobra.Command {
	var k hostKeyFlags
	cmd, ref := appCmd(g, "set", "Create or update a host key",
		"  lapis functionapp keys set -g myapp-rg -n myfuncapp --key-type functionKeys --key-name ci --key-value s3cret",
		func(cmd *cobra.Command, c *client, site string) error {
			p, err := k.path()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodPut, site+p, webAPI, keyBody(k.keyName, k.keyValue, cmd.Flags().Changed("key-value")), &out); err != nil {
				return err
			}
			return g.print(keyInfo(out))
		})
	k.add(cmd, true)
	ref.checks = append(ref.checks, func(*cobra.Command) error { _, err := k.path(); return err })
	return cmd
}

func hostKeysDelete(g *globals) *cobra.Command {
	var k hostKeyFlags
	cmd, ref := appCmd(g, "delete", "Delete a host key",
		"  lapis functionapp keys delete -g myapp-rg -n myfuncapp --key-type functionKeys --key-name ci",
		func(cmd *cobra.Command, c *client, site string) error {
			p, err := k.path()
			if err != nil {
				return err
			}
			return c.do(cmd.Context(), http.MethodDelete, site+p, webAPI, nil, nil)
		})
	k.add(cmd, false)
	ref.checks = append(ref.checks, func(*cobra.Command) error { _, err := k.path(); return err })
	return cmd
}

func functionKeysList(g *globals) *cobra.Command {
	cmd, _ := functionCmd(g, "list", "List a function's keys",
		"  lapis functionapp function keys list -g myapp-rg -n myfuncapp --function-name hello",
		func(cmd *cobra.Command, c *client, fn string) error {
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodPost, fn+"/listkeys", webAPI, nil, &out); err != nil {
				return err
			}
			return g.print(keyInfo(out))
		})
	return cmd
}

func functionKeysSet(g *globals) *cobra.Command {
	var keyName, keyValue string
	cmd, ref := functionCmd(g, "set", "Create or update a function key",
		"  lapis functionapp function keys set -g myapp-rg -n myfuncapp --function-name hello --key-name partner --key-value s3cret",
		func(cmd *cobra.Command, c *client, fn string) error {
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodPut, fn+"/keys/"+url.PathEscape(keyName), webAPI,
				keyBody(keyName, keyValue, cmd.Flags().Changed("key-value")), &out); err != nil {
				return err
			}
			return g.print(keyInfo(out))
		})
	cmd.Flags().StringVar(&keyName, "key-name", "", "name of the key")
	cmd.Flags().StringVar(&keyValue, "key-value", "", "value of the key (default: a new random one)")
	ref.required = append(ref.required, requiredFlag{&keyName, "--key-name"})
	return cmd
}

func functionKeysDelete(g *globals) *cobra.Command {
	var keyName string
	cmd, ref := functionCmd(g, "delete", "Delete a function key",
		"  lapis functionapp function keys delete -g myapp-rg -n myfuncapp --function-name hello --key-name partner",
		func(cmd *cobra.Command, c *client, fn string) error {
			return c.do(cmd.Context(), http.MethodDelete, fn+"/keys/"+url.PathEscape(keyName), webAPI, nil, nil)
		})
	cmd.Flags().StringVar(&keyName, "key-name", "", "name of the key")
	ref.required = append(ref.required, requiredFlag{&keyName, "--key-name"})
	return cmd
}
