package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lapisdev/lapis/internal/docdb/account"
)

// The cosmosdb commands manage Microsoft.DocumentDB resources through the
// management API, as az cosmosdb does: database accounts and their keys,
// and the SQL (NoSQL API) databases and containers below an account.

// cosmosAPI is the Microsoft.DocumentDB api-version the CLI speaks.
const cosmosAPI = "2024-11-15"

func newCosmosDBCmd(g *globals) *cobra.Command {
	cmd := noun("cosmosdb", "Manage Cosmos DB accounts, their keys, and their SQL databases and containers")
	keys := noun("keys", "Manage a Cosmos DB account's keys")
	keys.AddCommand(cosmosKeysList(g), cosmosKeysRegenerate(g))

	database := noun("database", "Manage the SQL databases of a Cosmos DB account")
	database.AddCommand(sqlDatabaseCreate(g), cosmosShow(g, dbLevel), cosmosChildList(g, dbLevel), cosmosDelete(g, dbLevel))
	container := noun("container", "Manage the containers of a SQL database")
	container.AddCommand(sqlContainerCreate(g), cosmosShow(g, containerLevel), cosmosChildList(g, containerLevel), cosmosDelete(g, containerLevel))
	sql := noun("sql", "Manage a Cosmos DB account's SQL (NoSQL API) databases and containers")
	sql.AddCommand(database, container)

	cmd.AddCommand(cosmosCreate(g), cosmosShow(g, accountLevel),
		typedListCmd(g, "List Cosmos DB accounts, in one resource group or all", "  lapis cosmosdb list -g myapp-rg -o table",
			account.TypeName, cosmosAPI, cosmosLevels[accountLevel].table),
		cosmosDelete(g, accountLevel), cosmosCheckName(g), keys, sql)
	return cmd
}

// What a cosmosdb command works on: an account, one of its SQL databases,
// or a container of one.
const (
	accountLevel = iota
	dbLevel
	containerLevel
)

var cosmosLevels = []struct {
	segment string // the type's segment in a resource id
	what    string
	command string // the command path, after lapis
	args    string // the flags that name one, for examples
	table   string // the -o table view of one
}{
	{"databaseAccounts", "Cosmos DB account", "cosmosdb", "-n mycosmos -g myapp-rg",
		"{Name:name, ResourceGroup:resourceGroup, Location:location, Kind:kind, DocumentEndpoint:documentEndpoint, ProvisioningState:provisioningState}"},
	{"sqlDatabases", "SQL database", "cosmosdb sql database", "-a mycosmos -g myapp-rg -n appdb",
		"{Name:name, ResourceGroup:resourceGroup}"},
	{"containers", "SQL container", "cosmosdb sql container", "-a mycosmos -g myapp-rg -d appdb -n orders",
		"{Name:name, ResourceGroup:resourceGroup, PartitionKey:resource.partitionKey.paths[0], DefaultTtl:resource.defaultTtl}"},
}

// cosmosRef is what a cosmosdb command was given to name its resource: -n
// and -g for an account; -a, -g and -n for a SQL database; -a, -g, -d and
// -n for a container. Without named (the lists of databases and
// containers), -n is not taken and the path is the collection's.
type cosmosRef struct {
	level                          int
	named                          bool
	account, group, database, name string
	// checks run after the required flags, before the server is asked.
	checks []func(cmd *cobra.Command, args []string) error
}

// refFlag is one of the flags that name a cosmosdb command's resource.
type refFlag struct {
	value                *string
	name, short, meaning string
}

// refFlags are the flags that name the resource, all required, in az's order.
func (r *cosmosRef) refFlags() []refFlag {
	var out []refFlag
	if r.level == accountLevel {
		out = append(out, refFlag{&r.name, "name", "n", "Cosmos DB account name"})
	} else {
		out = append(out, refFlag{&r.account, "account-name", "a", "Cosmos DB account name"})
	}
	out = append(out, refFlag{&r.group, "resource-group", "g", "resource group"})
	if r.level == containerLevel {
		out = append(out, refFlag{&r.database, "database-name", "d", "SQL database name"})
	}
	if r.named && r.level != accountLevel {
		out = append(out, refFlag{&r.name, "name", "n", cosmosLevels[r.level].what + " name"})
	}
	return out
}

func (r *cosmosRef) flags(cmd *cobra.Command) {
	for _, f := range r.refFlags() {
		cmd.Flags().StringVarP(f.value, f.name, f.short, "", f.meaning)
	}
}

// check names every missing required flag, as az does, then runs the checks.
func (r *cosmosRef) check(cmd *cobra.Command, args []string) error {
	var missing []string
	for _, f := range r.refFlags() {
		if *f.value == "" {
			missing = append(missing, "--"+f.name+"/-"+f.short)
		}
	}
	if len(missing) > 0 {
		return usagef("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	for _, c := range r.checks {
		if err := c(cmd, args); err != nil {
			return err
		}
	}
	return nil
}

// path is the request path of the resource, or of the collection that
// holds it when the ref is not named.
func (r *cosmosRef) path(ctx context.Context, c *client) (string, error) {
	gp, err := groupPath(c, ctx, r.group)
	if err != nil {
		return "", err
	}
	names := []string{r.account, r.database}[:r.level]
	if r.named {
		names = append(names, r.name)
	}
	p := gp + "/providers/" + account.Namespace
	for i, n := range names {
		p += "/" + cosmosLevels[i].segment + "/" + url.PathEscape(n)
	}
	if len(names) == r.level {
		p += "/" + cosmosLevels[r.level].segment
	}
	return p, nil
}

// cosmosCmd builds a command on what the ref names: it checks the flags,
// finds the server and hands run the path.
func cosmosCmd(g *globals, level int, named bool, use, short, example string,
	run func(cmd *cobra.Command, c *client, path string) error) (*cobra.Command, *cosmosRef) {
	ref := &cosmosRef{level: level, named: named}
	cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ref.check(cmd, args); err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			p, err := ref.path(cmd.Context(), c)
			if err != nil {
				return err
			}
			return run(cmd, c, p)
		}}
	ref.flags(cmd)
	return cmd, ref
}

// cosmosPut creates (or replaces) the resource at path and prints it as az does.
func cosmosPut(ctx context.Context, g *globals, c *client, path string, body any) error {
	var out map[string]any
	if err := c.do(ctx, http.MethodPut, path, cosmosAPI, body, &out); err != nil {
		return err
	}
	return g.print(flattenResource(out))
}

func cosmosShow(g *globals, level int) *cobra.Command {
	l := cosmosLevels[level]
	cmd, _ := cosmosCmd(g, level, true, "show", "Show a "+l.what, "  lapis "+l.command+" show "+l.args,
		func(cmd *cobra.Command, c *client, p string) error {
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodGet, p, cosmosAPI, nil, &out); err != nil {
				return err
			}
			return g.print(flattenResource(out))
		})
	return cmd
}

// cosmosChildList lists the SQL databases of an account or the containers
// of a database.
func cosmosChildList(g *globals, level int) *cobra.Command {
	l := cosmosLevels[level]
	args := l.args[:strings.LastIndex(l.args, " -n ")]
	cmd, _ := cosmosCmd(g, level, false, "list", "List the "+l.what+"s", "  lapis "+l.command+" list "+args+" -o table",
		func(cmd *cobra.Command, c *client, p string) error {
			items, err := c.list(cmd.Context(), p, cosmosAPI)
			if err != nil {
				return err
			}
			out := make([]any, 0, len(items))
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					out = append(out, flattenResource(m))
				}
			}
			return g.printTable(out, "[]."+l.table)
		})
	return cmd
}

func cosmosDelete(g *globals, level int) *cobra.Command {
	l := cosmosLevels[level]
	var yes bool
	what := l.what
	if level != containerLevel {
		what += " and everything in it"
	}
	cmd, ref := cosmosCmd(g, level, true, "delete", "Delete a "+what, "  lapis "+l.command+" delete "+l.args+" --yes",
		func(cmd *cobra.Command, c *client, p string) error {
			return c.do(cmd.Context(), http.MethodDelete, p, cosmosAPI, nil, nil)
		})
	ref.checks = append(ref.checks, func(*cobra.Command, []string) error {
		if yes {
			return nil
		}
		return confirm(g, "Are you sure you want to perform this operation? (y/n): ")
	})
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not prompt for confirmation")
	return cmd
}

// choice returns value in its canonical spelling among choices, taken
// without regard to case as az does.
func choice(flag, value string, choices ...string) (string, error) {
	for _, c := range choices {
		if strings.EqualFold(c, value) {
			return c, nil
		}
	}
	return "", usagef("argument %s: invalid choice: '%s' (choose from '%s')", flag, value, strings.Join(choices, "', '"))
}

// accountOptions are cosmosdb create's settings, as az names them.
type accountOptions struct {
	words                                *argWords
	location, kind, consistency, network string
	maxInterval, maxPrefix               int
	locations, capabilities, tags        *wordList
	freeTier, autoFailover, multiWrite   bool
}

func (o *accountOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	o.words = newArgWords(f)
	f.StringVarP(&o.location, "location", "l", "", "the account's location (default: the resource group's)")
	o.locations = o.words.list("locations", "`KEY=VALUE ...` of one location: regionName=eastus [failoverPriority=0] [isZoneRedundant=false]; repeatable (default: --location alone)")
	f.StringVar(&o.kind, "kind", "GlobalDocumentDB", "GlobalDocumentDB (MongoDB and Parse are not supported)")
	f.StringVar(&o.consistency, "default-consistency-level", "", "BoundedStaleness, ConsistentPrefix, Eventual, Session or Strong (server default Session)")
	f.IntVar(&o.maxInterval, "max-interval", 0, "BoundedStaleness: most seconds of staleness, 5-86400 (server default 5)")
	f.IntVar(&o.maxPrefix, "max-staleness-prefix", 0, "BoundedStaleness: most stale requests, 1-2147483647 (server default 100)")
	o.words.optionalBool(&o.freeTier, "enable-free-tier", "mark the account free tier (stored) [true|false]")
	o.words.optionalBool(&o.autoFailover, "enable-automatic-failover", "stored [true|false]")
	o.words.optionalBool(&o.multiWrite, "enable-multiple-write-locations", "make every location a write location [true|false]")
	f.StringVar(&o.network, "public-network-access", "", "ENABLED, DISABLED or SECUREDBYPERIMETER (stored)")
	o.capabilities = o.words.list("capabilities", "capabilities `NAME [NAME ...]`, such as EnableServerless")
	o.tags = o.words.list("tags", `space-separated tags: key[=value] [key[=value] ...]`)
}

// body checks the flags and builds the PUT body, without the location and
// the default locations, which need the server.
func (o *accountOptions) body(cmd *cobra.Command) (map[string]any, error) {
	f := cmd.Flags()
	kind, err := choice("--kind", o.kind, "GlobalDocumentDB", "MongoDB", "Parse")
	if err != nil {
		return nil, err
	}
	if kind != account.Kind {
		return nil, fmt.Errorf("--kind %s is not supported: Lapis's document store serves the NoSQL (SQL) API only; use --kind %s", kind, account.Kind)
	}
	props := map[string]any{"databaseAccountOfferType": "Standard"}
	body := map[string]any{"kind": kind, "properties": props}
	if uses := o.locations.uses(); len(uses) > 0 {
		locs := make([]any, len(uses))
		for i, words := range uses {
			if locs[i], err = parseLocation(words, i); err != nil {
				return nil, err
			}
		}
		props["locations"] = locs
	}
	cp := map[string]any{}
	if o.consistency != "" {
		if cp["defaultConsistencyLevel"], err = choice("--default-consistency-level", o.consistency,
			"BoundedStaleness", "ConsistentPrefix", "Eventual", "Session", "Strong"); err != nil {
			return nil, err
		}
	}
	if f.Changed("max-interval") {
		cp["maxIntervalInSeconds"] = o.maxInterval
	}
	if f.Changed("max-staleness-prefix") {
		cp["maxStalenessPrefix"] = o.maxPrefix
	}
	if len(cp) > 0 {
		props["consistencyPolicy"] = cp
	}
	for _, b := range []struct {
		flag, prop string
		value      bool
	}{
		{"enable-free-tier", "enableFreeTier", o.freeTier},
		{"enable-automatic-failover", "enableAutomaticFailover", o.autoFailover},
		{"enable-multiple-write-locations", "enableMultipleWriteLocations", o.multiWrite},
	} {
		if f.Changed(b.flag) {
			props[b.prop] = b.value
		}
	}
	if o.network != "" {
		if props["publicNetworkAccess"], err = choice("--public-network-access", o.network, "Enabled", "Disabled", "SecuredByPerimeter"); err != nil {
			return nil, err
		}
	}
	if f.Changed("capabilities") {
		caps := []any{}
		for _, c := range o.capabilities.all() {
			caps = append(caps, map[string]any{"name": c})
		}
		props["capabilities"] = caps
	}
	if f.Changed("tags") {
		t, err := parseTags(o.tags.all())
		if err != nil {
			return nil, err
		}
		body["tags"] = t
	}
	return body, nil
}

// parseLocation reads one --locations: regionName=LOC failoverPriority=N
// isZoneRedundant=BOOL, keys in any case; the i-th defaults to priority i.
func parseLocation(words []string, i int) (map[string]any, error) {
	loc := map[string]any{"failoverPriority": i, "isZoneRedundant": false}
	bad := func(why string) error {
		return usagef("invalid --locations '%s': %s; use regionName=LOC [failoverPriority=N] [isZoneRedundant=true|false]", strings.Join(words, " "), why)
	}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		switch {
		case !ok || v == "":
			return nil, bad("'" + w + "' is not KEY=VALUE")
		case strings.EqualFold(k, "regionName") || strings.EqualFold(k, "locationName"):
			loc["locationName"] = v
		case strings.EqualFold(k, "failoverPriority"):
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, bad("failoverPriority '" + v + "' is not a whole number")
			}
			loc["failoverPriority"] = n
		case strings.EqualFold(k, "isZoneRedundant"):
			b, ok := boolWord(v)
			if !ok {
				return nil, bad("isZoneRedundant '" + v + "' is not true or false")
			}
			loc["isZoneRedundant"] = b
		default:
			return nil, bad("unknown key '" + k + "'")
		}
	}
	if loc["locationName"] == nil {
		return nil, bad("regionName is required")
	}
	return loc, nil
}

func cosmosCreate(g *globals) *cobra.Command {
	var o accountOptions
	var body map[string]any
	var ref *cosmosRef
	var cmd *cobra.Command
	cmd, ref = cosmosCmd(g, accountLevel, true, "create", "Create a Cosmos DB account (NoSQL API)",
		"  lapis cosmosdb create -n mycosmos -g myapp-rg\n"+
			"  lapis cosmosdb create -n mycosmos -g myapp-rg --locations regionName=eastus failoverPriority=0 isZoneRedundant=false --default-consistency-level Eventual",
		func(cmd *cobra.Command, c *client, p string) error {
			ctx := cmd.Context()
			loc := o.location
			if loc == "" { // az takes the group's location
				var err error
				if loc, err = groupLocation(ctx, c, ref.group); err != nil {
					return err
				}
			}
			body["location"] = loc
			props := body["properties"].(map[string]any)
			if props["locations"] == nil {
				props["locations"] = []any{map[string]any{"locationName": loc, "failoverPriority": 0, "isZoneRedundant": false}}
			}
			return cosmosPut(ctx, g, c, p, body)
		})
	cmd.Args = cobra.ArbitraryArgs
	o.flags(cmd)
	ref.checks = append(ref.checks, func(cmd *cobra.Command, args []string) error {
		if err := o.words.split(args); err != nil {
			return err
		}
		var err error
		body, err = o.body(cmd)
		return err
	})
	return cmd
}

// cosmosCheckName answers whether an account name is taken, as az
// cosmosdb check-name-exists does. Names are unique across the server, and
// Lapis has one subscription, so the subscription's accounts tell.
func cosmosCheckName(g *globals) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "check-name-exists",
		Short:   "Print true if a Cosmos DB account name is taken, false if not",
		Example: "  lapis cosmosdb check-name-exists -n mycosmos",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(name, "--name/-n"); err != nil {
				return err
			}
			if strings.EqualFold(name, account.EmulatorAccount) {
				return g.print(true)
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			sub, err := c.sub(ctx)
			if err != nil {
				return err
			}
			items, err := c.list(ctx, "/subscriptions/"+url.PathEscape(sub)+"/providers/"+account.TypeName, cosmosAPI)
			if err != nil {
				return err
			}
			for _, it := range items {
				if m, ok := it.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m["name"]), name) {
					return g.print(true)
				}
			}
			return g.print(false)
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "Cosmos DB account name")
	return cmd
}

// keysActions maps keys list's --type to the account action that answers it.
var keysActions = map[string]string{"keys": "listKeys", "read-only-keys": "readonlykeys", "connection-strings": "listConnectionStrings"}

func cosmosKeysList(g *globals) *cobra.Command {
	var typ string
	cmd, ref := cosmosCmd(g, accountLevel, true, "list", "List a Cosmos DB account's keys, read-only keys or connection strings",
		"  lapis cosmosdb keys list -n mycosmos -g myapp-rg --query primaryMasterKey -o tsv\n"+
			"  lapis cosmosdb keys list -n mycosmos -g myapp-rg --type connection-strings --query connectionStrings[0].connectionString -o tsv",
		func(cmd *cobra.Command, c *client, p string) error {
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodPost, p+"/"+keysActions[typ], cosmosAPI, nil, &out); err != nil {
				return err
			}
			return g.print(out)
		})
	ref.checks = append(ref.checks, func(*cobra.Command, []string) error {
		var err error
		typ, err = choice("--type", typ, "keys", "read-only-keys", "connection-strings")
		return err
	})
	cmd.Flags().StringVar(&typ, "type", "keys", "keys, read-only-keys or connection-strings")
	return cmd
}

func cosmosKeysRegenerate(g *globals) *cobra.Command {
	var kind string
	cmd, ref := cosmosCmd(g, accountLevel, true, "regenerate", "Regenerate one of a Cosmos DB account's keys",
		"  lapis cosmosdb keys regenerate -n mycosmos -g myapp-rg --key-kind primary",
		func(cmd *cobra.Command, c *client, p string) error {
			return c.do(cmd.Context(), http.MethodPost, p+"/regenerateKey", cosmosAPI, map[string]string{"keyKind": kind}, nil)
		})
	ref.checks = append(ref.checks, func(*cobra.Command, []string) error {
		if err := required(kind, "--key-kind"); err != nil {
			return err
		}
		var err error
		kind, err = choice("--key-kind", kind, "primary", "primaryReadonly", "secondary", "secondaryReadonly")
		return err
	})
	cmd.Flags().StringVar(&kind, "key-kind", "", "primary, primaryReadonly, secondary or secondaryReadonly")
	return cmd
}

// throughput is the --throughput and --max-throughput of SQL database and
// container create, which go into the create options.
type throughput struct{ manual, max int }

func (t *throughput) flags(cmd *cobra.Command) {
	cmd.Flags().IntVar(&t.manual, "throughput", 0, "provisioned throughput in RU/s (stored)")
	cmd.Flags().IntVar(&t.max, "max-throughput", 0, "autoscale maximum throughput in RU/s (stored)")
}

func (t *throughput) options(cmd *cobra.Command) (map[string]any, error) {
	f := cmd.Flags()
	opts := map[string]any{}
	switch {
	case f.Changed("throughput") && f.Changed("max-throughput"):
		return nil, usagef("usage error: pass --throughput or --max-throughput, not both")
	case f.Changed("throughput"):
		opts["throughput"] = t.manual
	case f.Changed("max-throughput"):
		opts["autoscaleSettings"] = map[string]any{"maxThroughput": t.max}
	}
	return opts, nil
}

func sqlDatabaseCreate(g *globals) *cobra.Command {
	var tp throughput
	var opts map[string]any
	var ref *cosmosRef
	var cmd *cobra.Command
	cmd, ref = cosmosCmd(g, dbLevel, true, "create", "Create a SQL database", "  lapis cosmosdb sql database create -a mycosmos -g myapp-rg -n appdb",
		func(cmd *cobra.Command, c *client, p string) error {
			return cosmosPut(cmd.Context(), g, c, p, map[string]any{"properties": map[string]any{
				"resource": map[string]any{"id": ref.name}, "options": opts}})
		})
	ref.checks = append(ref.checks, func(cmd *cobra.Command, _ []string) error {
		var err error
		opts, err = tp.options(cmd)
		return err
	})
	tp.flags(cmd)
	return cmd
}

// containerOptions are sql container create's settings.
type containerOptions struct {
	tp                   throughput
	paths                []string
	version, ttl         int
	uniqueKeys, indexing string
	resource, createOpts map[string]any
}

func (o *containerOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVarP(&o.paths, "partition-key-path", "p", nil, "partition key path, such as /id; repeat it for a hierarchical key")
	f.IntVar(&o.version, "partition-key-version", 2, "partition key version, 1 or 2")
	f.IntVar(&o.ttl, "ttl", 0, "default time to live of items in seconds; -1 turns TTL on with no default")
	f.StringVar(&o.uniqueKeys, "unique-key-policy", "", `unique key policy, JSON or @file: {"uniqueKeys":[{"paths":["/email"]}]}`)
	f.StringVar(&o.indexing, "idx", "", "indexing policy, JSON or @file")
	o.tp.flags(cmd)
}

// check validates the flags and builds the container's resource and options.
func (o *containerOptions) check(cmd *cobra.Command, name string) error {
	if len(o.paths) == 0 {
		return usagef("the following arguments are required: --partition-key-path/-p")
	}
	if o.version != 1 && o.version != 2 {
		return usagef("argument --partition-key-version: invalid choice: '%d' (choose from '1', '2')", o.version)
	}
	pk := map[string]any{"paths": o.paths, "kind": "Hash", "version": o.version}
	if len(o.paths) > 1 {
		pk["kind"] = "MultiHash"
	}
	o.resource = map[string]any{"id": name, "partitionKey": pk}
	if cmd.Flags().Changed("ttl") {
		o.resource["defaultTtl"] = o.ttl
	}
	for flag, prop := range map[string]string{"unique-key-policy": "uniqueKeyPolicy", "idx": "indexingPolicy"} {
		if v, _ := cmd.Flags().GetString(flag); v != "" {
			policy, err := jsonArg("--"+flag, v)
			if err != nil {
				return err
			}
			o.resource[prop] = policy
		}
	}
	var err error
	o.createOpts, err = o.tp.options(cmd)
	return err
}

// jsonArg reads a flag that takes JSON, inline or from a file (@file, or a
// path to one), as az does.
func jsonArg(flag, v string) (any, error) {
	text := v
	if file, ok := strings.CutPrefix(v, "@"); ok {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", flag, err)
		}
		text = string(b)
	} else if b, err := os.ReadFile(v); err == nil {
		text = string(b)
	}
	var out any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return nil, usagef("argument %s: invalid JSON: %v", flag, err)
	}
	return out, nil
}

func sqlContainerCreate(g *globals) *cobra.Command {
	var o containerOptions
	cmd, ref := cosmosCmd(g, containerLevel, true, "create", "Create a SQL container",
		"  lapis cosmosdb sql container create -a mycosmos -g myapp-rg -d appdb -n orders -p /customerId --ttl 3600\n"+
			`  lapis cosmosdb sql container create -a mycosmos -g myapp-rg -d appdb -n users -p /id --unique-key-policy '{"uniqueKeys":[{"paths":["/email"]}]}'`,
		func(cmd *cobra.Command, c *client, p string) error {
			return cosmosPut(cmd.Context(), g, c, p, map[string]any{"properties": map[string]any{"resource": o.resource, "options": o.createOpts}})
		})
	ref.checks = append(ref.checks, func(cmd *cobra.Command, _ []string) error { return o.check(cmd, ref.name) })
	o.flags(cmd)
	return cmd
}
