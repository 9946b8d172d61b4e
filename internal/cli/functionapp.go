package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// The function app commands manage Microsoft.Web resources through the
// management API, as az functionapp does: hosting plans (serverfarms),
// function apps (sites), their settings, keys, functions and deployments.

// Api-versions of the function app commands.
const (
	webAPI         = "2023-12-01"
	storageKeysAPI = "2023-05-01"
)

func newFunctionappCmd(g *globals) *cobra.Command {
	cmd := noun("functionapp", "Manage function apps: plans, apps, settings, keys, deployments and logs")

	plan := noun("plan", "Manage the hosting plans (App Service plans) of function apps")
	plan.AddCommand(planCreate(g), planShow(g), planList(g), planDelete(g), planUpdate(g))

	config := noun("config", "Configure a function app")
	appsettings := noun("appsettings", "Manage a function app's application settings")
	appsettings.AddCommand(appSettingsList(g), appSettingsSet(g), appSettingsDelete(g))
	config.AddCommand(appsettings)

	deployment := noun("deployment", "Deploy code to a function app")
	source := noun("source", "Deploy from a local source")
	source.AddCommand(configZip(g))
	deployment.AddCommand(source, deploymentList(g), deploymentShow(g))

	function := noun("function", "Show a function app's functions and manage their keys")
	fkeys := noun("keys", "Manage a function's keys")
	fkeys.AddCommand(functionKeysList(g), functionKeysSet(g), functionKeysDelete(g))
	function.AddCommand(functionList(g), functionShow(g), fkeys)

	keys := noun("keys", "Manage a function app's host keys")
	keys.AddCommand(hostKeysList(g), hostKeysSet(g), hostKeysDelete(g))

	logs := noun("logs", "Stream a function app's logs")
	logs.AddCommand(logsTail(g))

	usage := noun("usage", "Show a function app's executions and metered usage")
	usage.AddCommand(usageShow(g))

	cmd.AddCommand(plan, functionappCreate(g), functionappShow(g), functionappList(g), functionappDelete(g),
		siteAction(g, "start", "Start a function app"), siteAction(g, "stop", "Stop a function app: its functions answer 403 until it starts"),
		siteAction(g, "restart", "Restart a function app's workers"),
		config, deployment, function, keys, logs, usage)
	return cmd
}

// webPath is the group's Microsoft.Web provider path.
func webPath(ctx context.Context, c *client, group string) (string, error) {
	p, err := groupPath(c, ctx, group)
	if err != nil {
		return "", err
	}
	return p + "/providers/Microsoft.Web", nil
}

// subWebPath is the subscription's Microsoft.Web provider path, for lists
// across groups.
func subWebPath(ctx context.Context, c *client) (string, error) {
	sub, err := c.sub(ctx)
	if err != nil {
		return "", err
	}
	return "/subscriptions/" + url.PathEscape(sub) + "/providers/Microsoft.Web", nil
}

func sitePath(ctx context.Context, c *client, group, name string) (string, error) {
	p, err := webPath(ctx, c, group)
	if err != nil {
		return "", err
	}
	return p + "/sites/" + url.PathEscape(name), nil
}

// appFlags are the -n and -g every function app command takes.
func appFlags(cmd *cobra.Command, name, group *string) {
	cmd.Flags().StringVarP(name, "name", "n", "", "name of the function app")
	cmd.Flags().StringVarP(group, "resource-group", "g", "", "resource group")
}

// needApp checks -n and -g, naming every missing one as az does.
func needApp(name, group string) error {
	var missing []string
	if name == "" {
		missing = append(missing, "--name/-n")
	}
	if group == "" {
		missing = append(missing, "--resource-group/-g")
	}
	if len(missing) > 0 {
		return usagef("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	return nil
}

// appRef is what appCmd's command was given: -n, -g, more required
// flags and checks of flags that need no server.
type appRef struct {
	name, group string
	// required are more required flags, reported with -n and -g.
	required []requiredFlag
	// checks run after the required flags, before the server is asked.
	checks []func(cmd *cobra.Command) error
}

type requiredFlag struct {
	value *string
	flag  string
}

// appCmd builds a command on one function app: it checks the flags, finds
// the server and hands run the app's path.
func appCmd(g *globals, use, short, example string, run func(cmd *cobra.Command, c *client, site string) error) (*cobra.Command, *appRef) {
	ref := &appRef{}
	cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ref.check(cmd); err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			p, err := sitePath(cmd.Context(), c, ref.group, ref.name)
			if err != nil {
				return err
			}
			return run(cmd, c, p)
		}}
	appFlags(cmd, &ref.name, &ref.group)
	return cmd, ref
}

func (r *appRef) check(cmd *cobra.Command) error {
	var missing []string
	for _, f := range append([]requiredFlag{{&r.name, "--name/-n"}, {&r.group, "--resource-group/-g"}}, r.required...) {
		if *f.value == "" {
			missing = append(missing, f.flag)
		}
	}
	if len(missing) > 0 {
		return usagef("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	for _, c := range r.checks {
		if err := c(cmd); err != nil {
			return err
		}
	}
	return nil
}

// siteTable is the -o table view of function apps.
const siteTable = "{Name:name, Location:location, State:state, ResourceGroup:resourceGroup, DefaultHostName:defaultHostName, Kind:kind}"

// createOptions are functionapp create's flags.
type createOptions struct {
	name, group, storage, consumption, plan, flex, runtime, runtimeVersion, functionsVersion, osType string
	maxInstances                                                                                     int
	tags                                                                                             []string
	appInsights, appInsightsKey                                                                      string
	disableAppInsights                                                                               bool
}

// hosting says which of -c, -p and --flexconsumption-location was given:
// exactly one must be.
func (o *createOptions) hosting() (string, error) {
	var given []string
	if o.consumption != "" {
		given = append(given, "consumption")
	}
	if o.plan != "" {
		given = append(given, "plan")
	}
	if o.flex != "" {
		given = append(given, "flex")
	}
	if len(given) != 1 {
		what := "one of them is required"
		if len(given) > 1 {
			what = "they exclude each other"
		}
		return "", usagef("usage error: pass exactly one of --consumption-plan-location/-c LOCATION, --plan/-p NAME_OR_ID, --flexconsumption-location LOCATION: %s", what)
	}
	return given[0], nil
}

// check validates the flags that need no server.
func (o *createOptions) check() (hosting string, err error) {
	var missing []string
	for _, f := range []struct{ v, flag string }{{o.name, "--name/-n"}, {o.group, "--resource-group/-g"}, {o.storage, "--storage-account/-s"}} {
		if f.v == "" {
			missing = append(missing, f.flag)
		}
	}
	if len(missing) > 0 {
		return "", usagef("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	if hosting, err = o.hosting(); err != nil {
		return "", err
	}
	switch strings.ToLower(o.runtime) {
	case "custom", "go":
	default:
		return "", usagef("argument --runtime: invalid choice: '%s' (choose from 'custom', 'go'): Lapis runs custom handlers; a Go app is one", o.runtime)
	}
	if o.functionsVersion != "4" {
		return "", usagef("argument --functions-version: invalid choice: '%s' (choose from '4')", o.functionsVersion)
	}
	switch strings.ToLower(o.osType) {
	case "", "linux", "windows":
	default:
		return "", usagef("argument --os-type: invalid choice: '%s' (choose from 'Linux', 'Windows')", o.osType)
	}
	if o.maxInstances < 0 {
		return "", usagef("argument --max-instances: must be a positive number")
	}
	return hosting, nil
}

func functionappCreate(g *globals) *cobra.Command {
	var o createOptions
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a function app",
		Long: `Create a function app on a Consumption plan (-c LOCATION), on a hosting plan (-p PLAN) or on
Flex Consumption (--flexconsumption-location LOCATION). The storage account (-s, a name in the
app's group or an id) becomes the app's AzureWebJobsStorage connection string.`,
		Example: `  lapis functionapp create -g myapp-rg -n myfuncapp -s myfuncappstorage -c eastus --runtime custom --functions-version 4
  lapis functionapp create -g myapp-rg -n myfuncapp2 -s myfuncappstorage -p myplan`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			more, err := restArgs(cmd, args, "tags")
			if err != nil {
				return err
			}
			hosting, err := o.check()
			if err != nil {
				return err
			}
			var tags map[string]string
			if cmd.Flags().Changed("tags") {
				if tags, err = parseTags(append(o.tags, more...)); err != nil {
					return err
				}
			}
			if o.appInsights != "" || o.appInsightsKey != "" {
				g.warn("Lapis has no Application Insights: --app-insights and --app-insights-key are ignored; use lapis functionapp logs tail and usage show.")
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			body, err := o.siteBody(ctx, c, hosting, tags)
			if err != nil {
				return err
			}
			p, err := sitePath(ctx, c, o.group, o.name)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do(ctx, http.MethodPut, p, webAPI, body, &out); err != nil {
				return err
			}
			return g.printTable(flattenResource(out), siteTable)
		},
	}
	f := cmd.Flags()
	appFlags(cmd, &o.name, &o.group)
	f.StringVarP(&o.storage, "storage-account", "s", "", "storage account for AzureWebJobsStorage: a name in the app's group, or an id")
	f.StringVarP(&o.consumption, "consumption-plan-location", "c", "", "run on a Consumption plan in this location")
	f.StringVarP(&o.plan, "plan", "p", "", "run on this hosting plan: a name in the app's group, or an id")
	f.StringVar(&o.flex, "flexconsumption-location", "", "run on Flex Consumption in this location")
	f.StringVar(&o.runtime, "runtime", "custom", "worker runtime: custom, or go (stored as custom)")
	f.StringVar(&o.runtimeVersion, "runtime-version", "", "accepted for az compatibility: custom handlers have no runtime version")
	f.StringVar(&o.functionsVersion, "functions-version", "4", "Functions runtime version: 4")
	f.StringVar(&o.osType, "os-type", "", "Linux or Windows (default: the plan's, else Linux)")
	f.IntVar(&o.maxInstances, "max-instances", 0, "most instances the app scales out to (functionAppScaleLimit; Flex: maximumInstanceCount)")
	f.StringArrayVar(&o.tags, "tags", nil, `space-separated tags: key[=value] [key[=value] ...]; "" clears`)
	f.StringVar(&o.appInsights, "app-insights", "", "accepted for az compatibility; ignored")
	f.StringVar(&o.appInsightsKey, "app-insights-key", "", "accepted for az compatibility; ignored")
	f.BoolVar(&o.disableAppInsights, "disable-app-insights", false, "accepted for az compatibility (there is no Application Insights)")
	return cmd
}

// siteBody builds the PUT body of functionapp create, reading the plan
// and the storage account.
func (o *createOptions) siteBody(ctx context.Context, c *client, hosting string, tags map[string]string) (map[string]any, error) {
	props := map[string]any{}
	var location string
	linux := !strings.EqualFold(o.osType, "windows")
	switch hosting {
	case "consumption":
		location = o.consumption
	case "flex":
		location = o.flex
		if strings.EqualFold(o.osType, "windows") {
			return nil, usagef("usage error: Flex Consumption runs Linux apps only; drop --os-type Windows")
		}
		scale := map[string]any{}
		if o.maxInstances > 0 {
			scale["maximumInstanceCount"] = o.maxInstances
		}
		props["functionAppConfig"] = map[string]any{"scaleAndConcurrency": scale}
		props["sku"] = "FlexConsumption"
	case "plan":
		plan, err := getPlan(ctx, c, o.group, o.plan)
		if err != nil {
			return nil, err
		}
		id, _ := plan["id"].(string)
		location, _ = plan["location"].(string)
		pp, _ := plan["properties"].(map[string]any)
		reserved, _ := pp["reserved"].(bool)
		if o.osType != "" && linux != reserved {
			if reserved {
				return nil, fmt.Errorf("the plan %s is a Linux plan: drop --os-type, or use a plan created without --is-linux", o.plan)
			}
			return nil, fmt.Errorf("the plan %s is a Windows plan: drop --os-type, or use a plan created with --is-linux", o.plan)
		}
		linux = reserved
		props["serverFarmId"] = id
	}
	conn, err := storageConnection(ctx, c, o.group, o.storage)
	if err != nil {
		return nil, err
	}
	siteConfig := map[string]any{"appSettings": []map[string]string{
		{"name": "AzureWebJobsStorage", "value": conn},
		{"name": "FUNCTIONS_EXTENSION_VERSION", "value": "~" + o.functionsVersion},
		{"name": "FUNCTIONS_WORKER_RUNTIME", "value": "custom"},
	}}
	if o.maxInstances > 0 && hosting != "flex" {
		siteConfig["functionAppScaleLimit"] = o.maxInstances
	}
	props["siteConfig"] = siteConfig
	props["reserved"] = linux
	kind := "functionapp"
	if linux {
		kind = "functionapp,linux"
	}
	body := map[string]any{"location": location, "kind": kind, "properties": props}
	if tags != nil {
		body["tags"] = tags
	}
	return body, nil
}

// resourcePath returns an id given as an argument as a path, or the path
// of the named resource of the type in the group.
func resourcePath(ctx context.Context, c *client, group, nameOrID, typePath string) (string, error) {
	if strings.HasPrefix(nameOrID, "/") {
		if !strings.HasPrefix(strings.ToLower(nameOrID), "/subscriptions/") {
			return "", usagef("invalid resource id '%s': it must start with /subscriptions/", nameOrID)
		}
		return nameOrID, nil
	}
	p, err := groupPath(c, ctx, group)
	if err != nil {
		return "", err
	}
	return p + "/providers/" + typePath + "/" + url.PathEscape(nameOrID), nil
}

// storageConnection reads a storage account and its first key and makes
// the AzureWebJobsStorage connection string for them.
func storageConnection(ctx context.Context, c *client, group, account string) (string, error) {
	p, err := resourcePath(ctx, c, group, account, "Microsoft.Storage/storageAccounts")
	if err != nil {
		return "", err
	}
	var acct struct {
		Name       string `json:"name"`
		Properties struct {
			PrimaryEndpoints map[string]string `json:"primaryEndpoints"`
		} `json:"properties"`
	}
	if err := c.do(ctx, http.MethodGet, p, storageKeysAPI, nil, &acct); err != nil {
		return "", err
	}
	var keys struct {
		Keys []struct{ Value string } `json:"keys"`
	}
	if err := c.do(ctx, http.MethodPost, p+"/listKeys", storageKeysAPI, nil, &keys); err != nil {
		return "", err
	}
	if len(keys.Keys) == 0 || keys.Keys[0].Value == "" {
		return "", fmt.Errorf("the storage account %s has no keys", acct.Name)
	}
	cs := "DefaultEndpointsProtocol=http;AccountName=" + acct.Name + ";AccountKey=" + keys.Keys[0].Value
	for _, svc := range []string{"blob", "queue"} {
		if u := acct.Properties.PrimaryEndpoints[svc]; u != "" {
			cs += ";" + strings.ToUpper(svc[:1]) + svc[1:] + "Endpoint=" + strings.TrimSuffix(u, "/")
		}
	}
	return cs, nil
}

func functionappShow(g *globals) *cobra.Command {
	cmd, _ := appCmd(g, "show", "Show a function app", "  lapis functionapp show -g myapp-rg -n myfuncapp --query defaultHostName -o tsv",
		func(cmd *cobra.Command, c *client, site string) error {
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodGet, site, webAPI, nil, &out); err != nil {
				return err
			}
			return g.printTable(flattenResource(out), siteTable)
		})
	return cmd
}

func functionappDelete(g *globals) *cobra.Command {
	cmd, _ := appCmd(g, "delete", "Delete a function app", "  lapis functionapp delete -g myapp-rg -n myfuncapp",
		func(cmd *cobra.Command, c *client, site string) error {
			return c.do(cmd.Context(), http.MethodDelete, site, webAPI, nil, nil)
		})
	return cmd
}

// siteAction is start, stop or restart: a POST that answers nothing.
func siteAction(g *globals, action, short string) *cobra.Command {
	cmd, _ := appCmd(g, action, short, "  lapis functionapp "+action+" -g myapp-rg -n myfuncapp",
		func(cmd *cobra.Command, c *client, site string) error {
			return c.do(cmd.Context(), http.MethodPost, site+"/"+action, webAPI, nil, nil)
		})
	return cmd
}

// listSites lists the function apps of a group, or of the subscription
// when group is empty.
func listSites(ctx context.Context, c *client, group string) ([]map[string]any, error) {
	var p string
	var err error
	if group != "" {
		p, err = webPath(ctx, c, group)
	} else {
		p, err = subWebPath(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	items, err := c.list(ctx, p+"/sites", webAPI)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		// az functionapp list keeps the sites whose kind says functionapp.
		if k, _ := m["kind"].(string); k != "" && !strings.Contains(strings.ToLower(k), "functionapp") {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

func functionappList(g *globals) *cobra.Command {
	var group string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List function apps, in one resource group or all",
		Example: "  lapis functionapp list -g myapp-rg -o table",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newClient(g)
			if err != nil {
				return err
			}
			sites, err := listSites(cmd.Context(), c, group)
			if err != nil {
				return err
			}
			out := make([]any, 0, len(sites))
			for _, s := range sites {
				out = append(out, flattenResource(s))
			}
			return g.printTable(out, "[]."+siteTable)
		},
	}
	cmd.Flags().StringVarP(&group, "resource-group", "g", "", "resource group (default: all)")
	return cmd
}

// findSiteGroup finds the group of the function app named name when no
// -g was given: the app must be the only one of that name.
func findSiteGroup(ctx context.Context, c *client, name string) (string, error) {
	sites, err := listSites(ctx, c, "")
	if err != nil {
		return "", err
	}
	var groups []string
	for _, s := range sites {
		if n, _ := s["name"].(string); strings.EqualFold(n, name) {
			id, _ := s["id"].(string)
			groups = append(groups, groupOf(id))
		}
	}
	switch len(groups) {
	case 0:
		return "", &apiError{Status: http.StatusNotFound, Code: "ResourceNotFound", Message: fmt.Sprintf("Can't find app with name %q", name)}
	case 1:
		return groups[0], nil
	}
	slices.Sort(groups)
	return "", usagef("there are function apps named %s in several resource groups (%s): pass --resource-group/-g", name, strings.Join(groups, ", "))
}

// warn prints an az-style warning on stderr, unless --only-show-errors.
func (g *globals) warn(msg string) {
	if !g.onlyErrors {
		fmt.Fprintf(g.stderr, "WARNING: %s\n", msg)
	}
}
