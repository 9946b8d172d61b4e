package cli

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

func newResourceCmd(g *globals) *cobra.Command {
	cmd := noun("resource", "Manage any resource by id or by type and name")
	cmd.AddCommand(resourceList(g), resourceShow(g), resourceDelete(g))
	return cmd
}

// withGroup adds resourceGroup to a resource, as az does in lists and shows.
func withGroup(v any) any {
	if m, ok := v.(map[string]any); ok {
		if id, ok := m["id"].(string); ok {
			m["resourceGroup"] = groupOf(id)
		}
	}
	return v
}

func resourceList(g *globals) *cobra.Command {
	var group, rtype, name, namespace, location, tag string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List resources, in a group or the whole subscription",
		Example: "  lapis resource list -g myapp-rg --resource-type Microsoft.Storage/storageAccounts -o table",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newClient(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var p string
			if group != "" {
				if p, err = groupPath(c, ctx, group); err != nil {
					return err
				}
			} else {
				sub, err := c.sub(ctx)
				if err != nil {
					return err
				}
				p = "/subscriptions/" + url.PathEscape(sub)
			}
			if rtype != "" && !strings.Contains(rtype, "/") {
				if namespace == "" {
					return usagef("--resource-type must be namespace/type (e.g. Microsoft.Storage/storageAccounts), or pass --namespace")
				}
				rtype = namespace + "/" + rtype
			}
			var filters []string
			if rtype != "" {
				filters = append(filters, "resourceType eq '"+odataQuote(rtype)+"'")
			}
			if name != "" {
				filters = append(filters, "name eq '"+odataQuote(name)+"'")
			}
			if location != "" {
				filters = append(filters, "location eq '"+odataQuote(location)+"'")
			}
			if tag != "" {
				filters = append(filters, tagFilter(tag))
			}
			p += "/resources"
			if len(filters) > 0 {
				p += "?$filter=" + url.QueryEscape(strings.Join(filters, " and "))
			}
			items, err := c.list(ctx, p, resourcesAPI)
			if err != nil {
				return err
			}
			out := make([]any, 0, len(items))
			for _, it := range items {
				// --namespace alone keeps the types of one provider.
				if m, ok := it.(map[string]any); ok && namespace != "" && rtype == "" {
					if t, _ := m["type"].(string); !strings.HasPrefix(strings.ToLower(t), strings.ToLower(namespace)+"/") {
						continue
					}
				}
				out = append(out, withGroup(it))
			}
			return g.printTable(out, "[].{Name:name, ResourceGroup:resourceGroup, Location:location, Type:type, Status:properties.provisioningState}")
		},
	}
	f := cmd.Flags()
	f.StringVarP(&group, "resource-group", "g", "", "resource group (default: all)")
	f.StringVar(&rtype, "resource-type", "", "type, e.g. Microsoft.Storage/storageAccounts")
	f.StringVarP(&name, "name", "n", "", "resource name")
	f.StringVar(&namespace, "namespace", "", "provider namespace, e.g. Microsoft.Storage")
	f.StringVarP(&location, "location", "l", "", "location")
	f.StringVar(&tag, "tag", "", "only resources with this tag: key[=value]")
	return cmd
}

// resourceRef names resources the way az resource commands do: --ids, or
// -g, -n and --resource-type (with --namespace and --parent).
type resourceRef struct {
	ids                                               []string
	group, name, rtype, namespace, parent, apiVersion string
}

func (r *resourceRef) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&r.ids, "ids", nil, "one or more resource ids (space-separated)")
	f.StringVarP(&r.group, "resource-group", "g", "", "resource group")
	f.StringVarP(&r.name, "name", "n", "", "resource name")
	f.StringVar(&r.rtype, "resource-type", "", "type, e.g. Microsoft.Storage/storageAccounts")
	f.StringVar(&r.namespace, "namespace", "", "provider namespace, e.g. Microsoft.Storage")
	f.StringVar(&r.parent, "parent", "", "parent path for child resources, e.g. namespaces/myns")
	f.StringVar(&r.apiVersion, "api-version", "", "api-version (default: the newest the server offers)")
}

// paths resolves the references to request paths.
func (r *resourceRef) paths(ctx context.Context, c *client, more []string) ([]string, error) {
	if len(r.ids) > 0 {
		var out []string
		for _, id := range append(r.ids, more...) {
			for _, one := range strings.Fields(id) {
				if !strings.HasPrefix(strings.ToLower(one), "/subscriptions/") {
					return nil, usagef("invalid resource id '%s': it must start with /subscriptions/", one)
				}
				out = append(out, one)
			}
		}
		return out, nil
	}
	if r.group == "" || r.name == "" || r.rtype == "" {
		return nil, usagef("pass --ids, or --resource-group, --name and --resource-type")
	}
	ns, typ := r.namespace, r.rtype
	if i := strings.Index(r.rtype, "/"); i > 0 && ns == "" {
		ns, typ = r.rtype[:i], r.rtype[i+1:]
	}
	if ns == "" {
		return nil, usagef("--resource-type must be namespace/type, or pass --namespace")
	}
	gp, err := groupPath(c, ctx, r.group)
	if err != nil {
		return nil, err
	}
	p := gp + "/providers/" + ns + "/"
	if r.parent != "" {
		p += strings.Trim(r.parent, "/") + "/"
	}
	return []string{p + typ + "/" + url.PathEscape(r.name)}, nil
}

// apiVersionFor picks the newest api-version the server offers for the
// type in path, as az does when none is given.
func (r *resourceRef) apiVersionFor(ctx context.Context, c *client, path string) (string, error) {
	if r.apiVersion != "" {
		return r.apiVersion, nil
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var ns string
	var types []string
	for i := 0; i < len(parts); i++ {
		if strings.EqualFold(parts[i], "providers") && i+1 < len(parts) {
			ns = parts[i+1]
			for j := i + 2; j < len(parts); j += 2 {
				types = append(types, parts[j])
			}
		}
	}
	if ns == "" {
		return resourcesAPI, nil
	}
	sub, err := c.sub(ctx)
	if err != nil {
		return "", err
	}
	var prov struct {
		ResourceTypes []struct {
			ResourceType string   `json:"resourceType"`
			APIVersions  []string `json:"apiVersions"`
		} `json:"resourceTypes"`
	}
	if err := c.do(ctx, http.MethodGet, "/subscriptions/"+url.PathEscape(sub)+"/providers/"+ns, resourcesAPI, nil, &prov); err != nil {
		return "", err
	}
	want := strings.Join(types, "/")
	for _, t := range prov.ResourceTypes {
		if strings.EqualFold(t.ResourceType, want) && len(t.APIVersions) > 0 {
			return t.APIVersions[0], nil
		}
	}
	return "", &apiError{Status: http.StatusBadRequest, Code: "InvalidResourceType",
		Message: "The resource type '" + want + "' could not be found in the namespace '" + ns + "'."}
}

func resourceShow(g *globals) *cobra.Command {
	var r resourceRef
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show one or more resources",
		Example: `  lapis resource show --ids /subscriptions/.../storageAccounts/myfuncappstorage
  lapis resource show -g myapp-rg -n myfuncappstorage --resource-type Microsoft.Storage/storageAccounts`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			more, err := restArgs(cmd, args, "ids")
			if err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			paths, err := r.paths(ctx, c, more)
			if err != nil {
				return err
			}
			var out []any
			for _, p := range paths {
				v, err := r.apiVersionFor(ctx, c, p)
				if err != nil {
					return err
				}
				var res map[string]any
				if err := c.do(ctx, http.MethodGet, p, v, nil, &res); err != nil {
					return err
				}
				out = append(out, withGroup(res))
			}
			if len(out) == 1 {
				return g.print(out[0])
			}
			return g.print(out)
		},
	}
	r.flags(cmd)
	return cmd
}

func resourceDelete(g *globals) *cobra.Command {
	var r resourceRef
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   "Delete one or more resources",
		Example: "  lapis resource delete --ids $(lapis storage account show -g myapp-rg -n myfuncappstorage --query id -o tsv)",
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			more, err := restArgs(cmd, args, "ids")
			if err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			paths, err := r.paths(ctx, c, more)
			if err != nil {
				return err
			}
			for _, p := range paths {
				v, err := r.apiVersionFor(ctx, c, p)
				if err != nil {
					return err
				}
				if err := c.do(ctx, http.MethodDelete, p, v, nil, nil); err != nil {
					return err
				}
			}
			return nil
		},
	}
	r.flags(cmd)
	return cmd
}

// typedListCmd is `<noun> list [-g group]` for a resource type ("Microsoft.Web/serverfarms"): the resources of
// one group or of the whole subscription, flattened as az prints them. table is the default -o table projection
// of one item ("" for the output package's default columns).
func typedListCmd(g *globals, short, example, typeName, apiVersion, table string) *cobra.Command {
	var group string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   short,
		Example: example,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := newClient(g)
			if err != nil {
				return err
			}
			var p string
			if group != "" {
				if p, err = groupPath(c, ctx, group); err != nil {
					return err
				}
			} else {
				sub, err := c.sub(ctx)
				if err != nil {
					return err
				}
				p = "/subscriptions/" + url.PathEscape(sub)
			}
			items, err := c.list(ctx, p+"/providers/"+typeName, apiVersion)
			if err != nil {
				return err
			}
			out := make([]any, 0, len(items))
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					out = append(out, flattenResource(m))
				}
			}
			if table == "" {
				return g.print(out)
			}
			return g.printTable(out, "[]."+table)
		},
	}
	cmd.Flags().StringVarP(&group, "resource-group", "g", "", "resource group (default: all)")
	return cmd
}
