package cli

import (
	"context"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

// System topics (Microsoft.EventGrid/systemTopics) publish an Azure
// resource's own events, such as a storage account's blob events; their
// event subscriptions are children: {system topic id}/eventSubscriptions/{name}.

func newSystemTopicCmd(g *globals) *cobra.Command {
	cmd := noun("system-topic", "Manage Event Grid system topics")
	subs := noun("event-subscription", "Manage event subscriptions of a system topic")
	subs.AddCommand(subscriptionCmds(g, subscriptionNoun{
		path:       "eventgrid system-topic event-subscription",
		parentArgs: "-g myapp-rg --system-topic-name storage-events",
		newParent:  func() subscriptionParent { return &systemTopicParent{} },
	})...)
	cmd.AddCommand(systemTopicCreate(g),
		systemTopicCmd(g, http.MethodGet, "show", "Show a system topic", "  lapis eventgrid system-topic show -g myapp-rg -n storage-events --query source -o tsv"),
		typedListCmd(g, "List system topics, in one resource group or all", "  lapis eventgrid system-topic list -g myapp-rg -o table",
			"Microsoft.EventGrid/systemTopics", eventGridAPI,
			"{Name:name, Location:location, ResourceGroup:resourceGroup, TopicType:topicType, Source:source}"),
		systemTopicCmd(g, http.MethodDelete, "delete", "Delete a system topic and its event subscriptions", "  lapis eventgrid system-topic delete -g myapp-rg -n storage-events"),
		subs)
	return cmd
}

func systemTopicPath(ctx context.Context, c *client, group, name string) (string, error) {
	p, err := groupPath(c, ctx, group)
	if err != nil {
		return "", err
	}
	return p + "/providers/Microsoft.EventGrid/systemTopics/" + url.PathEscape(name), nil
}

// systemTopicRef is the -g and -n of a command on one system topic.
type systemTopicRef struct{ group, name string }

func (r *systemTopicRef) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&r.name, "name", "n", "", "system topic name")
	cmd.Flags().StringVarP(&r.group, "resource-group", "g", "", "resource group")
}

func (r *systemTopicRef) check() error {
	if err := required(r.name, "--name/-n"); err != nil {
		return err
	}
	return required(r.group, "--resource-group/-g")
}

// path checks the flags and returns the client and the system topic's path.
func (r *systemTopicRef) path(ctx context.Context, g *globals) (*client, string, error) {
	if err := r.check(); err != nil {
		return nil, "", err
	}
	c, err := newClient(g)
	if err != nil {
		return nil, "", err
	}
	p, err := systemTopicPath(ctx, c, r.group, r.name)
	return c, p, err
}

func systemTopicCreate(g *globals) *cobra.Command {
	var ref systemTopicRef
	var location, topicType, source string
	var tags []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a system topic for an Azure resource's events",
		Example: "  lapis eventgrid system-topic create -g myapp-rg -n storage-events --topic-type Microsoft.Storage.StorageAccounts \\\n" +
			"    --source $(lapis storage account show -g myapp-rg -n myappstorage --query id -o tsv)",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			more, err := restArgs(cmd, args, "tags")
			if err != nil {
				return err
			}
			if err := ref.check(); err != nil {
				return err
			}
			if err := required(topicType, "--topic-type"); err != nil {
				return err
			}
			if err := required(source, "--source"); err != nil {
				return err
			}
			if !isResourceID(source) {
				return usagef("invalid --source '%s': it must be a resource id starting with /subscriptions/", source)
			}
			body := map[string]any{"properties": map[string]any{"source": source, "topicType": topicType}}
			if cmd.Flags().Changed("tags") {
				t, err := parseTags(append(tags, more...))
				if err != nil {
					return err
				}
				body["tags"] = t
			}
			ctx := cmd.Context()
			c, p, err := ref.path(ctx, g)
			if err != nil {
				return err
			}
			if location == "" { // az takes the group's location
				if location, err = groupLocation(ctx, c, ref.group); err != nil {
					return err
				}
			}
			body["location"] = location
			var out map[string]any
			if err := c.do(ctx, http.MethodPut, p, eventGridAPI, body, &out); err != nil {
				return err
			}
			return g.print(flattenResource(out))
		},
	}
	ref.flags(cmd)
	f := cmd.Flags()
	f.StringVarP(&location, "location", "l", "", "location (default: the resource group's)")
	f.StringVar(&topicType, "topic-type", "", "type of the source's events, e.g. Microsoft.Storage.StorageAccounts")
	f.StringVar(&source, "source", "", "id of the resource whose events the topic publishes")
	f.StringArrayVar(&tags, "tags", nil, `space-separated tags: key[=value] [key[=value] ...]`)
	return cmd
}

// systemTopicCmd is show (GET, printing the topic) or delete on one system
// topic.
func systemTopicCmd(g *globals, method, use, short, example string) *cobra.Command {
	var ref systemTopicRef
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, p, err := ref.path(cmd.Context(), g)
			if err != nil {
				return err
			}
			if method != http.MethodGet {
				return c.do(cmd.Context(), method, p, eventGridAPI, nil, nil)
			}
			var out map[string]any
			if err := c.do(cmd.Context(), method, p, eventGridAPI, nil, &out); err != nil {
				return err
			}
			return g.print(flattenResource(out))
		},
	}
	ref.flags(cmd)
	if method == http.MethodDelete {
		cmd.Flags().BoolP("yes", "y", false, "accepted for compatibility (az does not prompt either)")
	}
	return cmd
}

// systemTopicParent is the -g and --system-topic-name of
// `eventgrid system-topic event-subscription`.
type systemTopicParent struct{ group, topic string }

func (p *systemTopicParent) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&p.group, "resource-group", "g", "", "resource group of the system topic")
	cmd.Flags().StringVar(&p.topic, "system-topic-name", "", "system topic name")
}

func (p *systemTopicParent) check() error {
	if err := required(p.topic, "--system-topic-name"); err != nil {
		return err
	}
	return required(p.group, "--resource-group/-g")
}

func (p *systemTopicParent) collection(ctx context.Context, c *client) (string, error) {
	st, err := systemTopicPath(ctx, c, p.group, p.topic)
	if err != nil {
		return "", err
	}
	return st + "/eventSubscriptions", nil
}
