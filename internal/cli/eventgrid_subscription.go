package cli

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Event subscriptions (Microsoft.EventGrid/eventSubscriptions) are extension
// resources: {source id}/providers/Microsoft.EventGrid/eventSubscriptions/{name}
// on a topic, a system topic, a storage account or a resource group, and
// {system topic id}/eventSubscriptions/{name} as children of a system topic.
// Both kinds share the commands below; a subscriptionParent tells them apart.

func newEventSubscriptionCmd(g *globals) *cobra.Command {
	cmd := noun("event-subscription", "Manage event subscriptions of topics, system topics, storage accounts and groups")
	cmd.AddCommand(subscriptionCmds(g, subscriptionNoun{
		path:       "eventgrid event-subscription",
		parentArgs: "--source-resource-id $TOPIC_ID",
		newParent:  func() subscriptionParent { return &sourceParent{} },
	})...)
	return cmd
}

// subscriptionParent is where a command's event subscriptions live.
type subscriptionParent interface {
	// flags adds the flags that name the parent.
	flags(cmd *cobra.Command)
	// check reports a missing or malformed flag.
	check() error
	// collection is the path of the parent's event subscriptions.
	collection(ctx context.Context, c *client) (string, error)
}

// sourceParent is the --source-resource-id of `eventgrid event-subscription`.
type sourceParent struct{ id string }

func (p *sourceParent) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.id, "source-resource-id", "",
		"id of the topic, system topic, storage account or resource group the subscription is on")
}

func (p *sourceParent) check() error {
	if err := required(p.id, "--source-resource-id"); err != nil {
		return err
	}
	if !isResourceID(p.id) {
		return usagef("invalid --source-resource-id '%s': it must be a resource id starting with /subscriptions/", p.id)
	}
	return nil
}

func (p *sourceParent) collection(context.Context, *client) (string, error) {
	return strings.TrimRight(p.id, "/") + "/providers/Microsoft.EventGrid/eventSubscriptions", nil
}

// wideLister is a parent that can also list without being named: every
// event subscription of a group or of the subscription.
type wideLister interface {
	named() bool
	wide(ctx context.Context, c *client, group string) (string, error)
}

func (p *sourceParent) named() bool { return p.id != "" }

func (p *sourceParent) wide(ctx context.Context, c *client, group string) (string, error) {
	sub, err := c.sub(ctx)
	if err != nil {
		return "", err
	}
	scope := "/subscriptions/" + sub
	if group != "" {
		scope += "/resourceGroups/" + url.PathEscape(group)
	}
	return scope + "/providers/Microsoft.EventGrid/eventSubscriptions", nil
}

func isResourceID(s string) bool { return strings.HasPrefix(strings.ToLower(s), "/subscriptions/") }

// subscriptionNoun describes one command group of event subscription
// commands: its command path and parent flags (for examples) and how to make
// the parent each command names.
type subscriptionNoun struct {
	path, parentArgs string
	newParent        func() subscriptionParent
}

func (n subscriptionNoun) example(verb, rest string) string {
	return "  lapis " + n.path + " " + verb + " -n orders-sub " + n.parentArgs + rest
}

// subscriptionCmds are create, show, list, update and delete for a noun.
func subscriptionCmds(g *globals, n subscriptionNoun) []*cobra.Command {
	return []*cobra.Command{subscriptionWrite(g, n, true), subscriptionShow(g, n), subscriptionList(g, n),
		subscriptionWrite(g, n, false), subscriptionDelete(g, n)}
}

// subscriptionRef is the parent and -n of a command on one subscription.
type subscriptionRef struct {
	parent subscriptionParent
	name   string
}

func newSubscriptionRef(cmd *cobra.Command, n subscriptionNoun) *subscriptionRef {
	r := &subscriptionRef{parent: n.newParent()}
	r.parent.flags(cmd)
	cmd.Flags().StringVarP(&r.name, "name", "n", "", "event subscription name")
	return r
}

// path checks the flags and returns the client and the subscription's path.
func (r *subscriptionRef) path(ctx context.Context, g *globals) (*client, string, error) {
	if err := required(r.name, "--name/-n"); err != nil {
		return nil, "", err
	}
	c, coll, err := parentCollection(ctx, g, r.parent)
	if err != nil {
		return nil, "", err
	}
	return c, coll + "/" + url.PathEscape(r.name), nil
}

// parentCollection checks the parent's flags and returns the client and the
// path of the parent's event subscriptions.
func parentCollection(ctx context.Context, g *globals, p subscriptionParent) (*client, string, error) {
	if err := p.check(); err != nil {
		return nil, "", err
	}
	c, err := newClient(g)
	if err != nil {
		return nil, "", err
	}
	coll, err := p.collection(ctx, c)
	return c, coll, err
}

// azSubscription shapes an event subscription as az prints it: properties
// lifted to the top level, and so are those of its destination and its
// dead-letter destination (destination.endpointType, destination.endpointUrl).
func azSubscription(r map[string]any) map[string]any {
	out := flattenResource(r)
	for _, k := range []string{"destination", "deadLetterDestination"} {
		if d, ok := out[k].(map[string]any); ok {
			out[k] = flattenResource(d)
		}
	}
	return out
}

// subscriptionTable is the -o table view of one subscription.
const subscriptionTable = "{Name:name, ResourceGroup:resourceGroup, ProvisioningState:provisioningState, EndpointType:destination.endpointType}"

// subscriptionWrite is create (PUT) or update (PATCH).
func subscriptionWrite(g *globals, n subscriptionNoun, create bool) *cobra.Command {
	cmd := &cobra.Command{Args: cobra.ArbitraryArgs}
	if create {
		cmd.Use, cmd.Short = "create", "Create an event subscription, or replace one"
		cmd.Example = n.example("create", " --endpoint https://example.com/api/events") + "\n" +
			n.example("create", " --endpoint-type azurefunction --endpoint $FUNCTION_ID --included-event-types Orders.OrderCreated Orders.OrderPaid") + "\n" +
			n.example("create", " --endpoint $ACCOUNT_ID/queueServices/default/queues/orders --endpoint-type storagequeue --advanced-filter data.total NumberGreaterThan 100")
	} else {
		cmd.Use, cmd.Short = "update", "Update an event subscription: only the given settings change"
		cmd.Example = n.example("update", " --max-delivery-attempts 10 --event-ttl 60") + "\n" +
			n.example("update", ` --advanced-filter "data.region StringIn eu us" --labels audit`)
	}
	ref := newSubscriptionRef(cmd, n)
	sf := newSubscriptionFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := sf.words.split(args); err != nil {
			return err
		}
		props, err := sf.properties(cmd.Flags(), create)
		if err != nil {
			return err
		}
		if !create && len(props) == 0 {
			return usagef("nothing to update: give at least one setting, such as --endpoint or --advanced-filter")
		}
		ctx := cmd.Context()
		c, p, err := ref.path(ctx, g)
		if err != nil {
			return err
		}
		method := http.MethodPut
		if !create {
			method = http.MethodPatch
		}
		var out map[string]any
		if err := c.do(ctx, method, p, eventGridAPI, map[string]any{"properties": props}, &out); err != nil {
			return err
		}
		return g.print(azSubscription(out))
	}
	return cmd
}

func subscriptionShow(g *globals, n subscriptionNoun) *cobra.Command {
	var fullURL bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show an event subscription",
		Example: n.example("show", " --query destination.endpointType -o tsv") + "\n" +
			n.example("show", " --include-full-endpoint-url --query destination.endpointUrl -o tsv"),
		Args: noArgs,
	}
	ref := newSubscriptionRef(cmd, n)
	cmd.Flags().BoolVar(&fullURL, "include-full-endpoint-url", false, "show a webhook's full endpoint URL, query string included")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		c, p, err := ref.path(ctx, g)
		if err != nil {
			return err
		}
		var out map[string]any
		if err := c.do(ctx, http.MethodGet, p, eventGridAPI, nil, &out); err != nil {
			return err
		}
		if fullURL {
			if err := addFullURL(ctx, c, p, out); err != nil {
				return err
			}
		}
		return g.print(azSubscription(out))
	}
	return cmd
}

// addFullURL puts a webhook subscription's full endpoint URL (getFullUrl)
// into its destination, as az's --include-full-endpoint-url does.
func addFullURL(ctx context.Context, c *client, path string, sub map[string]any) error {
	props, _ := sub["properties"].(map[string]any)
	dest, _ := props["destination"].(map[string]any)
	if dest == nil || !strings.EqualFold(fmt.Sprint(dest["endpointType"]), "WebHook") {
		return nil
	}
	var full struct {
		EndpointURL string `json:"endpointUrl"`
	}
	if err := c.do(ctx, http.MethodPost, path+"/getFullUrl", eventGridAPI, nil, &full); err != nil {
		return fmt.Errorf("getting the full endpoint URL: %w", err)
	}
	dp, _ := dest["properties"].(map[string]any)
	if dp == nil {
		dp = map[string]any{}
		dest["properties"] = dp
	}
	dp["endpointUrl"] = full.EndpointURL
	return nil
}

func subscriptionList(g *globals, n subscriptionNoun) *cobra.Command {
	parent := n.newParent()
	var group string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the event subscriptions of a source",
		Example: "  lapis " + n.path + " list " + n.parentArgs + " -o table",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var c *client
			var coll string
			var err error
			if wl, ok := parent.(wideLister); ok && !wl.named() {
				// az lists a group's (-g) or the subscription's when no source is given.
				if c, err = newClient(g); err == nil {
					coll, err = wl.wide(ctx, c, group)
				}
			} else {
				c, coll, err = parentCollection(ctx, g, parent)
			}
			if err != nil {
				return err
			}
			items, err := c.list(ctx, coll, eventGridAPI)
			if err != nil {
				return err
			}
			out := make([]any, 0, len(items))
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					out = append(out, azSubscription(m))
				}
			}
			return g.printTable(out, "[]."+subscriptionTable)
		},
	}
	parent.flags(cmd)
	if _, ok := parent.(wideLister); ok {
		cmd.Flags().StringVarP(&group, "resource-group", "g", "", "without --source-resource-id: list the group's event subscriptions (default: the subscription's)")
	}
	return cmd
}

func subscriptionDelete(g *globals, n subscriptionNoun) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   "Delete an event subscription",
		Example: n.example("delete", ""),
		Args:    noArgs,
	}
	ref := newSubscriptionRef(cmd, n)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, p, err := ref.path(cmd.Context(), g)
		if err != nil {
			return err
		}
		return c.do(cmd.Context(), http.MethodDelete, p, eventGridAPI, nil, nil)
	}
	return cmd
}

// subscriptionFlags are the settings create and update take, as az names them.
type subscriptionFlags struct {
	words                                          *argWords
	endpoint, endpointType                         string
	subjectBegins, subjectEnds                     string
	deadletter, schema, expiration                 string
	eventTypes, advanced, labels                   *wordList
	caseSensitive, onArrays                        bool
	maxAttempts, ttl, maxEvents, batchKB, queueTTL int
}

func newSubscriptionFlags(cmd *cobra.Command) *subscriptionFlags {
	f := cmd.Flags()
	w := newArgWords(f)
	s := &subscriptionFlags{words: w}
	// --endpoint here is az's: it hides the global --endpoint of a remote
	// Lapis, which LAPIS_ENDPOINT still gives.
	f.StringVar(&s.endpoint, "endpoint", "", "where events go: a webhook URL, a function's resource id or a queue's resource id")
	f.StringVar(&s.endpointType, "endpoint-type", "webhook", "webhook, azurefunction or storagequeue; on update, only with --endpoint")
	s.eventTypes = w.list("included-event-types", "event types `TYPE [TYPE ...]` to deliver (default: all)")
	f.StringVar(&s.subjectBegins, "subject-begins-with", "", "only events whose subject begins with this")
	f.StringVar(&s.subjectEnds, "subject-ends-with", "", "only events whose subject ends with this")
	w.optionalBool(&s.caseSensitive, "subject-case-sensitive", "compare subjects case-sensitively [true|false]")
	s.advanced = w.list("advanced-filter", "advanced filter `KEY OPERATOR [VALUE ...]`, such as data.color StringIn red blue; repeatable")
	w.optionalBool(&s.onArrays, "enable-advanced-filtering-on-arrays", "apply advanced filters to each element of array values [true|false]")
	f.IntVar(&s.maxAttempts, "max-delivery-attempts", 0, "delivery attempts per event, 1-30 (server default 30)")
	f.IntVar(&s.ttl, "event-ttl", 0, "minutes an event is retried, 1-1440 (server default 1440)")
	f.StringVar(&s.deadletter, "deadletter-endpoint", "", "blob container for undeliverable events: {account id}/blobServices/default/containers/{container}")
	f.StringVar(&s.schema, "event-delivery-schema", "", "eventgridschema, cloudeventschemav1_0 or custominputschema")
	s.labels = w.list("labels", "labels `LABEL [LABEL ...]` to store on the subscription")
	f.StringVar(&s.expiration, "expiration-date", "", "date or date-time (UTC unless it has an offset) the subscription expires")
	f.IntVar(&s.maxEvents, "max-events-per-batch", 0, "events per delivery to a webhook or function, 1-5000 (server default 1)")
	f.IntVar(&s.batchKB, "preferred-batch-size-in-kilobytes", 0, "preferred size of a batch to a webhook or function, 1-1024 (server default 64)")
	f.IntVar(&s.queueTTL, "storage-queue-msg-ttl", 0, "time-to-live in seconds of the queue messages of a storagequeue endpoint (-1: forever)")
	return s
}

// endpointTypes maps az's --endpoint-type choices to ARM's endpointType; ""
// marks the types az has that Lapis does not deliver to yet.
var endpointTypes = map[string]string{
	"webhook":          "WebHook",
	"azurefunction":    "AzureFunction",
	"storagequeue":     "StorageQueue",
	"servicebusqueue":  "",
	"servicebustopic":  "",
	"eventhub":         "",
	"hybridconnection": "",
}

// deliverySchemas maps az's --event-delivery-schema choices to ARM's names.
var deliverySchemas = map[string]string{
	"eventgridschema":      "EventGridSchema",
	"cloudeventschemav1_0": "CloudEventSchemaV1_0",
	"custominputschema":    "CustomInputSchema",
}

// destinationKeys are every property a destination of any type can have: a
// PATCH that replaces the destination sets those it does not give to null,
// so that the merge leaves nothing of the old one.
var destinationKeys = []string{"endpointUrl", "endpointBaseUrl", "resourceId", "queueName", "queueMessageTimeToLiveInSeconds",
	"maxEventsPerBatch", "preferredBatchSizeInKilobytes", "deliveryAttributeMappings", "azureActiveDirectoryTenantId",
	"azureActiveDirectoryApplicationIdOrUri", "minimumTlsVersionAllowed"}

// Id shapes of endpoints.
const (
	queueMiddle     = "/queueServices/default/queues/"
	containerMiddle = "/blobServices/default/containers/"
)

var functionID = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Web/sites/[^/]+/functions/[^/]+$`)

// properties turns the flags into the subscription's properties. For create
// they are the whole resource; for update the flags given, to be merged in
// with PATCH, where a new --endpoint replaces the destination.
func (s *subscriptionFlags) properties(f *pflag.FlagSet, create bool) (map[string]any, error) {
	props := map[string]any{}
	dest, err := s.destination(f, create)
	if err != nil {
		return nil, err
	}
	if dest != nil {
		props["destination"] = dest
	}
	filter, err := s.filter(f)
	if err != nil {
		return nil, err
	}
	if len(filter) > 0 {
		props["filter"] = filter
	}
	retry := map[string]any{}
	if err := intSetting(f, retry, "max-delivery-attempts", "maxDeliveryAttempts", s.maxAttempts, 1, 30); err != nil {
		return nil, err
	}
	if err := intSetting(f, retry, "event-ttl", "eventTimeToLiveInMinutes", s.ttl, 1, 1440); err != nil {
		return nil, err
	}
	if len(retry) > 0 {
		props["retryPolicy"] = retry
	}
	if f.Changed("deadletter-endpoint") {
		account, container, ok := splitNestedID(s.deadletter, containerMiddle)
		if !ok {
			return nil, usagef("invalid --deadletter-endpoint '%s': expected {storage account id}%s{container}", s.deadletter, containerMiddle)
		}
		props["deadLetterDestination"] = map[string]any{"endpointType": "StorageBlob",
			"properties": map[string]any{"resourceId": account, "blobContainerName": container}}
	}
	if f.Changed("event-delivery-schema") {
		schema, ok := deliverySchemas[strings.ToLower(s.schema)]
		if !ok {
			return nil, usagef("argument --event-delivery-schema: invalid choice: '%s' (choose from 'cloudeventschemav1_0', 'custominputschema', 'eventgridschema')", s.schema)
		}
		props["eventDeliverySchema"] = schema
	}
	if f.Changed("labels") {
		props["labels"] = s.labels.all()
	}
	if f.Changed("expiration-date") {
		t, err := parseExpiration(s.expiration)
		if err != nil {
			return nil, err
		}
		props["expirationTimeUtc"] = t
	}
	return props, nil
}

// destination is the destination the flags give, or nil when they change
// none.
func (s *subscriptionFlags) destination(f *pflag.FlagSet, create bool) (map[string]any, error) {
	newEndpoint := create || f.Changed("endpoint")
	if !newEndpoint && f.Changed("endpoint-type") {
		return nil, usagef("--endpoint-type goes with --endpoint")
	}
	kind := "" // ARM's endpointType, known when there is a new endpoint
	dp := map[string]any{}
	if newEndpoint {
		if err := required(s.endpoint, "--endpoint"); err != nil {
			return nil, err
		}
		var err error
		if kind, err = endpointDestination(s.endpointType, s.endpoint, dp); err != nil {
			return nil, err
		}
	}
	batched := kind == "" || kind == "WebHook" || kind == "AzureFunction"
	for _, b := range []struct {
		flag, key string
		val, max  int
	}{{"max-events-per-batch", "maxEventsPerBatch", s.maxEvents, 5000}, {"preferred-batch-size-in-kilobytes", "preferredBatchSizeInKilobytes", s.batchKB, 1024}} {
		if f.Changed(b.flag) && !batched {
			return nil, usagef("--%s is for webhook and azurefunction endpoints", b.flag)
		}
		if err := intSetting(f, dp, b.flag, b.key, b.val, 1, b.max); err != nil {
			return nil, err
		}
	}
	if f.Changed("storage-queue-msg-ttl") {
		if kind != "" && kind != "StorageQueue" {
			return nil, usagef("--storage-queue-msg-ttl is for storagequeue endpoints")
		}
		if s.queueTTL < -1 || s.queueTTL == 0 {
			return nil, usagef("argument --storage-queue-msg-ttl: %d is not a number of seconds (or -1 for no expiry)", s.queueTTL)
		}
		dp["queueMessageTimeToLiveInSeconds"] = s.queueTTL
	}
	if !newEndpoint {
		if len(dp) == 0 {
			return nil, nil
		}
		return map[string]any{"properties": dp}, nil // merged into the current destination
	}
	if !create {
		for _, k := range destinationKeys {
			if _, ok := dp[k]; !ok {
				dp[k] = nil
			}
		}
	}
	return map[string]any{"endpointType": kind, "properties": dp}, nil
}

// endpointDestination checks --endpoint for --endpoint-type, puts the
// destination properties it gives into dp and returns ARM's endpointType.
func endpointDestination(endpointType, endpoint string, dp map[string]any) (string, error) {
	kind, known := endpointTypes[strings.ToLower(endpointType)]
	switch {
	case !known:
		return "", usagef("argument --endpoint-type: invalid choice: '%s' (choose from 'azurefunction', 'eventhub', 'hybridconnection', 'servicebusqueue', 'servicebustopic', 'storagequeue', 'webhook')", endpointType)
	case kind == "":
		return "", usagef("--endpoint-type %s is not supported yet: Lapis delivers to webhook, azurefunction and storagequeue endpoints", strings.ToLower(endpointType))
	}
	switch kind {
	case "WebHook":
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			hint := ""
			if isResourceID(endpoint) {
				hint = "; for a function or a queue pass --endpoint-type azurefunction or storagequeue"
			}
			return "", usagef("invalid --endpoint '%s': a webhook endpoint is an http or https URL%s", endpoint, hint)
		}
		dp["endpointUrl"] = endpoint
	case "AzureFunction":
		if !functionID.MatchString(endpoint) {
			return "", usagef("invalid --endpoint '%s': an azurefunction endpoint is a function's resource id, "+
				"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Web/sites/{app}/functions/{function}", endpoint)
		}
		dp["resourceId"] = endpoint
	case "StorageQueue":
		account, queue, ok := splitNestedID(endpoint, queueMiddle)
		if !ok {
			return "", usagef("invalid --endpoint '%s': a storagequeue endpoint is {storage account id}%s{queue}", endpoint, queueMiddle)
		}
		dp["resourceId"], dp["queueName"] = account, queue
	}
	return kind, nil
}

// splitNestedID splits an id such as {account id}/queueServices/default/queues/{queue}
// at middle (matched without regard to case) into the account id and the
// last name.
func splitNestedID(id, middle string) (parent, name string, ok bool) {
	i := strings.Index(strings.ToLower(id), strings.ToLower(middle))
	if i <= 0 {
		return "", "", false
	}
	parent, name = id[:i], id[i+len(middle):]
	if !isResourceID(parent) || name == "" || strings.Contains(name, "/") {
		return "", "", false
	}
	return parent, name, true
}

// filter is the filter the flags give.
func (s *subscriptionFlags) filter(f *pflag.FlagSet) (map[string]any, error) {
	filter := map[string]any{}
	if f.Changed("included-event-types") {
		var types []string
		for _, w := range s.eventTypes.all() {
			types = append(types, strings.Fields(w)...)
		}
		filter["includedEventTypes"] = types
	}
	if f.Changed("subject-begins-with") {
		filter["subjectBeginsWith"] = s.subjectBegins
	}
	if f.Changed("subject-ends-with") {
		filter["subjectEndsWith"] = s.subjectEnds
	}
	if f.Changed("subject-case-sensitive") {
		filter["isSubjectCaseSensitive"] = s.caseSensitive
	}
	if f.Changed("enable-advanced-filtering-on-arrays") {
		filter["enableAdvancedFilteringOnArrays"] = s.onArrays
	}
	if f.Changed("advanced-filter") {
		var filters []any
		for _, words := range s.advanced.uses() {
			// The flag's own value may hold the whole filter, quoted;
			// the words after it are taken as they are.
			af, err := parseAdvancedFilter(append(strings.Fields(words[0]), words[1:]...))
			if err != nil {
				return nil, err
			}
			filters = append(filters, af)
		}
		filter["advancedFilters"] = filters
	}
	return filter, nil
}

// intSetting puts an int flag's value into m under key when the flag was
// given, checking that it is in [lo, hi].
func intSetting(f *pflag.FlagSet, m map[string]any, flag, key string, v, lo, hi int) error {
	if !f.Changed(flag) {
		return nil
	}
	if v < lo || v > hi {
		return usagef("argument --%s: %d is out of range %d-%d", flag, v, lo, hi)
	}
	m[key] = v
	return nil
}

// expirationLayouts are the forms --expiration-date takes.
var expirationLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02"}

// parseExpiration turns a date or date-time into RFC 3339 UTC; one without
// an offset is UTC.
func parseExpiration(s string) (string, error) {
	for _, l := range expirationLayouts {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t.UTC().Format(time.RFC3339), nil
		}
	}
	return "", usagef("invalid --expiration-date '%s': use a date (2026-12-31) or a date-time (2026-12-31T18:00:00Z)", s)
}

// filterValues is what an advanced filter operator compares with.
type filterValues int

const (
	noValue      filterValues = iota // IsNullOrUndefined, IsNotNull
	oneNumber                        // "value": a number
	oneBool                          // "value": true or false
	numbers                          // "values": numbers
	numberRanges                     // "values": [[low, high], ...]
	texts                            // "values": strings
)

// filterOperator is an advanced filter operator: its name and what it
// compares with.
type filterOperator struct {
	name   string
	values filterValues
}

// filterOperators are Event Grid's advanced filter operators, by lower-case
// name.
var filterOperators = func() map[string]filterOperator {
	ops := map[string]filterOperator{}
	for values, names := range map[filterValues][]string{
		noValue:      {"IsNullOrUndefined", "IsNotNull"},
		oneNumber:    {"NumberLessThan", "NumberGreaterThan", "NumberLessThanOrEquals", "NumberGreaterThanOrEquals"},
		oneBool:      {"BoolEquals"},
		numbers:      {"NumberIn", "NumberNotIn"},
		numberRanges: {"NumberInRange", "NumberNotInRange"},
		texts: {"StringIn", "StringNotIn", "StringBeginsWith", "StringNotBeginsWith", "StringEndsWith",
			"StringNotEndsWith", "StringContains", "StringNotContains"},
	} {
		for _, n := range names {
			ops[strings.ToLower(n)] = filterOperator{n, values}
		}
	}
	return ops
}()

// parseAdvancedFilter reads az's --advanced-filter words, KEY OPERATOR
// [VALUE ...], into an advanced filter.
func parseAdvancedFilter(words []string) (map[string]any, error) {
	if len(words) < 2 {
		return nil, usagef("invalid --advanced-filter '%s': expected KEY OPERATOR [VALUE ...], e.g. data.color StringIn red blue", strings.Join(words, " "))
	}
	key, opName, vals := words[0], words[1], words[2:]
	op, ok := filterOperators[strings.ToLower(opName)]
	if !ok {
		return nil, usagef("invalid --advanced-filter operator '%s' (choose from BoolEquals, IsNotNull, IsNullOrUndefined, "+
			"NumberGreaterThan, NumberGreaterThanOrEquals, NumberIn, NumberInRange, NumberLessThan, NumberLessThanOrEquals, "+
			"NumberNotIn, NumberNotInRange, StringBeginsWith, StringContains, StringEndsWith, StringIn, StringNotBeginsWith, "+
			"StringNotContains, StringNotEndsWith, StringNotIn)", opName)
	}
	af := map[string]any{"operatorType": op.name, "key": key}
	bad := func(format string, args ...any) error {
		return usagef("invalid --advanced-filter '%s': %s", strings.Join(words, " "), fmt.Sprintf(format, args...))
	}
	switch op.values {
	case noValue:
		if len(vals) > 0 {
			return nil, bad("%s takes no value", op.name)
		}
		return af, nil
	case oneNumber, oneBool:
		if len(vals) != 1 {
			return nil, bad("%s takes exactly one value", op.name)
		}
	default:
		if len(vals) == 0 {
			return nil, bad("%s needs at least one value", op.name)
		}
	}
	switch op.values {
	case oneNumber:
		n, err := parseNumber(vals[0])
		if err != nil {
			return nil, bad("%v", err)
		}
		af["value"] = n
	case oneBool:
		b, ok := boolWord(vals[0])
		if !ok {
			return nil, bad("'%s' is not true or false", vals[0])
		}
		af["value"] = b
	case numbers:
		ns := make([]any, len(vals))
		for i, v := range vals {
			n, err := parseNumber(v)
			if err != nil {
				return nil, bad("%v", err)
			}
			ns[i] = n
		}
		af["values"] = ns
	case numberRanges:
		rs := make([]any, len(vals))
		for i, v := range vals {
			lo, hi, ok := strings.Cut(v, ",")
			if !ok {
				return nil, bad("range '%s' is not LOW,HIGH", v)
			}
			l, err := parseNumber(lo)
			if err != nil {
				return nil, bad("%v", err)
			}
			h, err := parseNumber(hi)
			if err != nil {
				return nil, bad("%v", err)
			}
			if l > h {
				return nil, bad("range '%s' has its low end above its high end", v)
			}
			rs[i] = []any{l, h}
		}
		af["values"] = rs
	case texts:
		af["values"] = append([]string(nil), vals...)
	}
	return af, nil
}

// parseNumber reads a finite number.
func parseNumber(s string) (float64, error) {
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("'%s' is not a number", s)
	}
	return n, nil
}

// boolWord reads true or false, in any case.
func boolWord(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// argWords gives a command az's flags of several words, which pflag lacks:
// a list flag (argparse's nargs='+') takes every word up to the next flag,
// as in --included-event-types A B or --advanced-filter data.k StringIn a b,
// and an optional-value flag (nargs='?') may be followed by true or false,
// as in --subject-case-sensitive false.
//
// pflag takes one word as a flag's value and leaves the words after it among
// the positional arguments. Each time it sets one of these flags, argWords
// notes how many positional arguments it has collected so far; split then
// gives each occurrence the positional arguments that came after it.
type argWords struct {
	fs    *pflag.FlagSet
	flags []*wordFlag
	uses  []*flagUse // every occurrence of every flag, in command-line order
}

// flagUse is one occurrence of a flag on the command line.
type flagUse struct {
	flag  *wordFlag
	words []string // the flag's own value, then the words after it
	at    int      // how many positional arguments came before it
	value bool     // an optional-value flag's value
}

func newArgWords(fs *pflag.FlagSet) *argWords { return &argWords{fs: fs} }

// wordFlag is a flag of argWords: a list flag, or an optional-value boolean
// when target is set.
type wordFlag struct {
	w      *argWords
	typ    string
	target *bool
	uses   []*flagUse
}

func (f *wordFlag) String() string {
	if f.target != nil {
		return strconv.FormatBool(*f.target)
	}
	return ""
}

func (f *wordFlag) Type() string { return f.typ }

func (f *wordFlag) Set(s string) error {
	u := &flagUse{flag: f, words: []string{s}, at: len(f.w.fs.Args())}
	if f.target != nil {
		b, ok := boolWord(s)
		if !ok {
			return fmt.Errorf("'%s' is not true or false", s)
		}
		u.value, *f.target = b, b
	}
	f.uses = append(f.uses, u)
	f.w.uses = append(f.w.uses, u)
	return nil
}

// wordList is a list flag's values once split has run.
type wordList struct{ f *wordFlag }

// uses is the words of each occurrence of the flag: its value, then the
// words that followed it.
func (l *wordList) uses() [][]string {
	out := make([][]string, len(l.f.uses))
	for i, u := range l.f.uses {
		out[i] = u.words
	}
	return out
}

// all is every word of every occurrence.
func (l *wordList) all() []string {
	var out []string
	for _, u := range l.f.uses {
		out = append(out, u.words...)
	}
	return out
}

// list adds a list flag. A usage with a `quoted` part shows that part as
// the flag's value in help.
func (w *argWords) list(name, usage string) *wordList {
	f := &wordFlag{w: w, typ: "strings"}
	w.flags = append(w.flags, f)
	w.fs.Var(f, name, usage)
	return &wordList{f}
}

// optionalBool adds a boolean flag that is true alone and may be followed by
// true or false.
func (w *argWords) optionalBool(p *bool, name, usage string) {
	f := &wordFlag{w: w, typ: "bool", target: p}
	w.flags = append(w.flags, f)
	w.fs.Var(f, name, usage)
	w.fs.Lookup(name).NoOptDefVal = "true"
}

// split hands the command's positional arguments to the flags they follow.
// Those left over, before the first such flag or after the true or false of
// an optional-value one, are unrecognized, as in az.
func (w *argWords) split(args []string) error {
	var stray []string
	if len(w.uses) == 0 {
		stray = args
	} else {
		stray = append(stray, args[:w.uses[0].at]...)
	}
	for i, u := range w.uses {
		end := len(args)
		if i+1 < len(w.uses) {
			end = w.uses[i+1].at
		}
		words := args[u.at:end]
		if u.flag.target == nil {
			u.words = append(u.words, words...)
			continue
		}
		if len(words) > 0 {
			if b, ok := boolWord(words[0]); ok {
				u.value, u.words, words = b, append(u.words, words[0]), words[1:]
			}
		}
		stray = append(stray, words...)
	}
	for _, f := range w.flags {
		if f.target != nil && len(f.uses) > 0 {
			*f.target = f.uses[len(f.uses)-1].value // the last occurrence wins
		}
	}
	if len(stray) > 0 {
		return usagef("unrecognized arguments: %s", strings.Join(stray, " "))
	}
	return nil
}
