package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

func newStorageCmd(g *globals) *cobra.Command {
	cmd := noun("storage", "Manage storage accounts, containers, blobs, queues and messages")
	acct := noun("account", "Manage storage accounts")
	keys := noun("keys", "Manage storage account keys")
	keys.AddCommand(storageKeysList(g), storageKeysRenew(g))
	acct.AddCommand(storageCreate(g), storageShow(g), storageList(g), storageDelete(g), storageUpdate(g),
		storageConnString(g), keys)
	cmd.AddCommand(acct, newContainerCmd(g), newBlobCmd(g), newQueueCmd(g), newMessageCmd(g))
	return cmd
}

// flattenResource shapes a resource the way az prints typed resources:
// properties lifted to the top level and resourceGroup added.
func flattenResource(r map[string]any) map[string]any {
	out := map[string]any{}
	if p, ok := r["properties"].(map[string]any); ok {
		for k, v := range p {
			out[k] = v
		}
	}
	for k, v := range r {
		if k != "properties" {
			out[k] = v
		}
	}
	if id, ok := r["id"].(string); ok {
		out["resourceGroup"] = groupOf(id)
	}
	return out
}

// groupOf returns the resource group segment of an id.
func groupOf(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

func accountPath(ctx context.Context, c *client, group, name string) (string, error) {
	p, err := groupPath(c, ctx, group)
	if err != nil {
		return "", err
	}
	return p + "/providers/Microsoft.Storage/storageAccounts/" + url.PathEscape(name), nil
}

// accountFlags are the -n and -g every account command takes.
func accountFlags(cmd *cobra.Command, name, group *string) {
	cmd.Flags().StringVarP(name, "name", "n", "", "storage account name")
	cmd.Flags().StringVarP(group, "resource-group", "g", "", "resource group")
}

func needAccount(name, group string) error {
	if err := required(name, "--name/-n"); err != nil {
		return err
	}
	return required(group, "--resource-group/-g")
}

// accountSettings are the az flags that map to account properties.
type accountSettings struct {
	sku, kind, accessTier, minTLS, publicNetwork, defaultAction string
	httpsOnly, allowPublic, allowSharedKey, hns                 string
	tags                                                        []string
}

func (s *accountSettings) flags(cmd *cobra.Command, create bool) {
	f := cmd.Flags()
	skuDefault, kindDefault := "", ""
	if create {
		skuDefault, kindDefault = "Standard_RAGRS", "StorageV2"
	}
	f.StringVar(&s.sku, "sku", skuDefault, "Standard_LRS, Standard_GRS, Standard_RAGRS, Standard_ZRS, Premium_LRS, Premium_ZRS, Standard_GZRS or Standard_RAGZRS")
	f.StringVar(&s.kind, "kind", kindDefault, "Storage, StorageV2, BlobStorage, FileStorage or BlockBlobStorage")
	f.StringVar(&s.accessTier, "access-tier", "", "Hot, Cool or Cold")
	f.StringVar(&s.minTLS, "min-tls-version", "", "TLS1_0, TLS1_1, TLS1_2 or TLS1_3 (stored)")
	f.StringVar(&s.publicNetwork, "public-network-access", "", "Enabled or Disabled (stored)")
	f.StringVar(&s.defaultAction, "default-action", "", "network rule default action: Allow or Deny (stored)")
	f.StringVar(&s.httpsOnly, "https-only", "", "true or false (stored; Lapis serves plain HTTP on loopback)")
	f.StringVar(&s.allowPublic, "allow-blob-public-access", "", "true or false")
	f.StringVar(&s.allowSharedKey, "allow-shared-key-access", "", "true or false")
	f.StringVar(&s.hns, "hns", "", "true or false: hierarchical namespace (stored)")
	f.StringArrayVar(&s.tags, "tags", nil, `space-separated tags: key[=value] [key[=value] ...]; "" clears`)
	f.String("encryption-services", "", "accepted for az compatibility")
	f.String("routing-choice", "", "accepted for az compatibility")
	f.Bool("assign-identity", false, "accepted for az compatibility")
}

func (s *accountSettings) body(cmd *cobra.Command, more []string) (map[string]any, error) {
	props := map[string]any{}
	body := map[string]any{"properties": props}
	if s.sku != "" {
		body["sku"] = map[string]any{"name": s.sku}
	}
	if s.kind != "" {
		body["kind"] = s.kind
	}
	if s.accessTier != "" {
		props["accessTier"] = s.accessTier
	}
	if s.minTLS != "" {
		props["minimumTlsVersion"] = s.minTLS
	}
	if s.publicNetwork != "" {
		props["publicNetworkAccess"] = s.publicNetwork
	}
	if s.defaultAction != "" {
		props["networkAcls"] = map[string]any{"defaultAction": s.defaultAction, "bypass": "AzureServices"}
	}
	for flag, prop := range map[string]string{"https-only": "supportsHttpsTrafficOnly", "allow-blob-public-access": "allowBlobPublicAccess",
		"allow-shared-key-access": "allowSharedKeyAccess", "hns": "isHnsEnabled"} {
		v, _ := cmd.Flags().GetString(flag)
		switch strings.ToLower(v) {
		case "":
		case "true":
			props[prop] = true
		case "false":
			props[prop] = false
		default:
			return nil, usagef("argument --%s: invalid choice: '%s' (choose from 'false', 'true')", flag, v)
		}
	}
	if cmd.Flags().Changed("tags") {
		t, err := parseTags(append(s.tags, more...))
		if err != nil {
			return nil, err
		}
		body["tags"] = t
	}
	return body, nil
}

func storageCreate(g *globals) *cobra.Command {
	var name, group, location string
	var s accountSettings
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a storage account",
		Example: "  lapis storage account create -n myfuncappstorage -g myapp-rg -l eastus --sku Standard_LRS",
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			more, err := restArgs(cmd, args, "tags")
			if err != nil {
				return err
			}
			if err := needAccount(name, group); err != nil {
				return err
			}
			body, err := s.body(cmd, more)
			if err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if location == "" { // az takes the group's location
				if location, err = groupLocation(ctx, c, group); err != nil {
					return err
				}
			}
			body["location"] = location
			p, err := accountPath(ctx, c, group, name)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do(ctx, http.MethodPut, p, storageAPI, body, &out); err != nil {
				return err
			}
			return g.print(flattenResource(out))
		},
	}
	accountFlags(cmd, &name, &group)
	cmd.Flags().StringVarP(&location, "location", "l", "", "location (default: the resource group's)")
	s.flags(cmd, true)
	return cmd
}

func storageUpdate(g *globals) *cobra.Command {
	var name, group string
	var s accountSettings
	cmd := &cobra.Command{
		Use:     "update",
		Short:   "Update a storage account",
		Example: "  lapis storage account update -n myfuncappstorage -g myapp-rg --access-tier Cool --tags env=prod",
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			more, err := restArgs(cmd, args, "tags")
			if err != nil {
				return err
			}
			if err := needAccount(name, group); err != nil {
				return err
			}
			body, err := s.body(cmd, more)
			if err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			p, err := accountPath(cmd.Context(), c, group, name)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodPatch, p, storageAPI, body, &out); err != nil {
				return err
			}
			return g.print(flattenResource(out))
		},
	}
	accountFlags(cmd, &name, &group)
	s.flags(cmd, false)
	return cmd
}

func storageShow(g *globals) *cobra.Command {
	var name, group string
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Show a storage account",
		Example: "  lapis storage account show -g myapp-rg -n myfuncappstorage --query id -o tsv",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needAccount(name, group); err != nil {
				return err
			}
			out, err := getAccount(cmd.Context(), g, group, name)
			if err != nil {
				return err
			}
			return g.print(flattenResource(out))
		},
	}
	accountFlags(cmd, &name, &group)
	return cmd
}

func getAccount(ctx context.Context, g *globals, group, name string) (map[string]any, error) {
	c, err := newClient(g)
	if err != nil {
		return nil, err
	}
	p, err := accountPath(ctx, c, group, name)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, c.do(ctx, http.MethodGet, p, storageAPI, nil, &out)
}

func storageList(g *globals) *cobra.Command {
	return typedListCmd(g, "List storage accounts, in one resource group or all", "  lapis storage account list -g myapp-rg -o table",
		"Microsoft.Storage/storageAccounts", storageAPI, "")
}

func storageDelete(g *globals) *cobra.Command {
	var name, group string
	var yes bool
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   "Delete a storage account",
		Example: "  lapis storage account delete -n myfuncappstorage -g myapp-rg --yes",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needAccount(name, group); err != nil {
				return err
			}
			if !yes {
				if err := confirm(g, "Are you sure you want to perform this operation? (y/n): "); err != nil {
					return err
				}
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			p, err := accountPath(cmd.Context(), c, group, name)
			if err != nil {
				return err
			}
			return c.do(cmd.Context(), http.MethodDelete, p, storageAPI, nil, nil)
		},
	}
	accountFlags(cmd, &name, &group)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not prompt for confirmation")
	return cmd
}

func accountKeys(ctx context.Context, g *globals, group, name string) ([]map[string]any, error) {
	c, err := newClient(g)
	if err != nil {
		return nil, err
	}
	p, err := accountPath(ctx, c, group, name)
	if err != nil {
		return nil, err
	}
	var out struct {
		Keys []map[string]any `json:"keys"`
	}
	return out.Keys, c.do(ctx, http.MethodPost, p+"/listKeys", storageAPI, nil, &out)
}

func storageKeysList(g *globals) *cobra.Command {
	var name, group string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List a storage account's keys",
		Example: "  lapis storage account keys list -n myfuncappstorage -g myapp-rg --query [0].value -o tsv",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needAccount(name, group); err != nil {
				return err
			}
			keys, err := accountKeys(cmd.Context(), g, group, name)
			if err != nil {
				return err
			}
			return g.print(keys)
		},
	}
	accountFlags(cmd, &name, &group)
	return cmd
}

func storageKeysRenew(g *globals) *cobra.Command {
	var name, group, key string
	cmd := &cobra.Command{
		Use:     "renew",
		Short:   "Regenerate a storage account key",
		Example: "  lapis storage account keys renew -n myfuncappstorage -g myapp-rg --key primary",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needAccount(name, group); err != nil {
				return err
			}
			if err := required(key, "--key"); err != nil {
				return err
			}
			keyName := map[string]string{"primary": "key1", "secondary": "key2"}[strings.ToLower(key)]
			if keyName == "" {
				return usagef("argument --key: invalid choice: '%s' (choose from 'primary', 'secondary')", key)
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			p, err := accountPath(cmd.Context(), c, group, name)
			if err != nil {
				return err
			}
			var out struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := c.do(cmd.Context(), http.MethodPost, p+"/regenerateKey", storageAPI, map[string]string{"keyName": keyName}, &out); err != nil {
				return err
			}
			return g.print(out.Keys)
		},
	}
	accountFlags(cmd, &name, &group)
	cmd.Flags().StringVar(&key, "key", "", "primary or secondary")
	return cmd
}

func storageConnString(g *globals) *cobra.Command {
	var name, group, key, protocol string
	cmd := &cobra.Command{
		Use:     "show-connection-string",
		Short:   "Print a connection string the Azure SDKs accept",
		Example: "  lapis storage account show-connection-string -n myfuncappstorage -g myapp-rg -o tsv",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needAccount(name, group); err != nil {
				return err
			}
			if protocol != "http" && protocol != "https" {
				return usagef("argument --protocol: invalid choice: '%s' (choose from 'http', 'https')", protocol)
			}
			idx := map[string]int{"primary": 0, "secondary": 1}
			i, ok := idx[strings.ToLower(key)]
			if !ok {
				return usagef("argument --key: invalid choice: '%s' (choose from 'primary', 'secondary')", key)
			}
			ctx := cmd.Context()
			acct, err := getAccount(ctx, g, group, name)
			if err != nil {
				return err
			}
			keys, err := accountKeys(ctx, g, group, name)
			if err != nil {
				return err
			}
			if len(keys) <= i {
				return fmt.Errorf("the account has no %s key", key)
			}
			acctName, _ := acct["name"].(string)
			cs := fmt.Sprintf("DefaultEndpointsProtocol=%s;AccountName=%s;AccountKey=%v", protocol, acctName, keys[i]["value"])
			props, _ := acct["properties"].(map[string]any)
			eps, _ := props["primaryEndpoints"].(map[string]any)
			for _, svc := range []string{"blob", "queue", "table", "file"} {
				if u, ok := eps[svc].(string); ok {
					cs += fmt.Sprintf(";%sEndpoint=%s", strings.ToUpper(svc[:1])+svc[1:], strings.TrimSuffix(u, "/"))
				}
			}
			return g.print(map[string]string{"connectionString": cs + ";"})
		},
	}
	accountFlags(cmd, &name, &group)
	cmd.Flags().StringVar(&key, "key", "primary", "primary or secondary")
	cmd.Flags().StringVar(&protocol, "protocol", "http", "http or https: the DefaultEndpointsProtocol to print (Lapis's endpoints are plain http)")
	return cmd
}
