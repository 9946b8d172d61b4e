package cli

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// eventGridAPI is the Microsoft.EventGrid api-version the CLI speaks.
const eventGridAPI = "2025-02-15"

func newEventGridCmd(g *globals) *cobra.Command {
	cmd := noun("eventgrid", "Manage Event Grid topics")
	topic := noun("topic", "Manage Event Grid custom topics")
	key := noun("key", "Manage a topic's access keys")
	key.AddCommand(topicKeyList(g), topicKeyRegenerate(g))
	topic.AddCommand(topicCreate(g), topicShow(g), topicList(g), topicDelete(g), key)
	cmd.AddCommand(topic, newEventSubscriptionCmd(g), newSystemTopicCmd(g))
	return cmd
}

func topicPath(ctx context.Context, c *client, group, name string) (string, error) {
	p, err := groupPath(c, ctx, group)
	if err != nil {
		return "", err
	}
	return p + "/providers/Microsoft.EventGrid/topics/" + url.PathEscape(name), nil
}

// topicFlags are the -n and -g every topic command takes.
func topicFlags(cmd *cobra.Command, name, group *string) {
	cmd.Flags().StringVarP(name, "name", "n", "", "topic name")
	cmd.Flags().StringVarP(group, "resource-group", "g", "", "resource group")
}

func needTopic(name, group string) error {
	if err := required(name, "--name/-n"); err != nil {
		return err
	}
	return required(group, "--resource-group/-g")
}

// inputSchemas maps az's --input-schema choices to ARM's names.
var inputSchemas = map[string]string{
	"eventgridschema":      "EventGridSchema",
	"cloudeventschemav1_0": "CloudEventSchemaV1_0",
	"customeventschema":    "CustomEventSchema", // refused by the server with its reason
}

func topicCreate(g *globals) *cobra.Command {
	var name, group, location, schema, publicNetwork, sku, localAuth string
	var tags []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an Event Grid topic",
		Example: "  lapis eventgrid topic create -g myapp-rg -n orders-topic -l eastus\n" +
			"  lapis eventgrid topic create -g myapp-rg -n ce-topic -l eastus --input-schema cloudeventschemav1_0",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			more, err := restArgs(cmd, args, "tags")
			if err != nil {
				return err
			}
			if err := needTopic(name, group); err != nil {
				return err
			}
			in, ok := inputSchemas[strings.ToLower(schema)]
			if !ok {
				return usagef("argument --input-schema: invalid choice: '%s' (choose from 'cloudeventschemav1_0', 'customeventschema', 'eventgridschema')", schema)
			}
			props := map[string]any{"inputSchema": in}
			body := map[string]any{"properties": props}
			if publicNetwork != "" {
				props["publicNetworkAccess"] = publicNetwork
			}
			switch strings.ToLower(localAuth) {
			case "":
			case "true":
				props["disableLocalAuth"] = true
			case "false":
				props["disableLocalAuth"] = false
			default:
				return usagef("argument --disable-local-auth: invalid choice: '%s' (choose from 'false', 'true')", localAuth)
			}
			if sku != "" {
				body["sku"] = map[string]any{"name": sku}
			}
			if cmd.Flags().Changed("tags") {
				t, err := parseTags(append(tags, more...))
				if err != nil {
					return err
				}
				body["tags"] = t
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
			p, err := topicPath(ctx, c, group, name)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do(ctx, http.MethodPut, p, eventGridAPI, body, &out); err != nil {
				return err
			}
			return g.print(flattenResource(out))
		},
	}
	topicFlags(cmd, &name, &group)
	f := cmd.Flags()
	f.StringVarP(&location, "location", "l", "", "location (default: the resource group's)")
	f.StringVar(&schema, "input-schema", "eventgridschema", "eventgridschema or cloudeventschemav1_0 (customeventschema is not supported)")
	f.StringVar(&publicNetwork, "public-network-access", "", "Enabled or Disabled (stored)")
	f.StringVar(&sku, "sku", "", "Basic or Premium (stored)")
	f.StringVar(&localAuth, "disable-local-auth", "", "true turns off key and SAS token authentication")
	f.StringArrayVar(&tags, "tags", nil, `space-separated tags: key[=value] [key[=value] ...]`)
	return cmd
}

func getTopic(ctx context.Context, g *globals, group, name string) (map[string]any, error) {
	c, err := newClient(g)
	if err != nil {
		return nil, err
	}
	p, err := topicPath(ctx, c, group, name)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, c.do(ctx, http.MethodGet, p, eventGridAPI, nil, &out)
}

func topicShow(g *globals) *cobra.Command {
	var name, group string
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Show an Event Grid topic",
		Example: "  lapis eventgrid topic show -g myapp-rg -n orders-topic --query endpoint -o tsv",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needTopic(name, group); err != nil {
				return err
			}
			out, err := getTopic(cmd.Context(), g, group, name)
			if err != nil {
				return err
			}
			return g.print(flattenResource(out))
		},
	}
	topicFlags(cmd, &name, &group)
	return cmd
}

func topicList(g *globals) *cobra.Command {
	return typedListCmd(g, "List Event Grid topics, in one resource group or all", "  lapis eventgrid topic list -g myapp-rg -o table",
		"Microsoft.EventGrid/topics", eventGridAPI,
		"{Name:name, Location:location, ResourceGroup:resourceGroup, Endpoint:endpoint, InputSchema:inputSchema}")
}

func topicDelete(g *globals) *cobra.Command {
	var name, group string
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   "Delete an Event Grid topic and the events it holds",
		Example: "  lapis eventgrid topic delete -g myapp-rg -n orders-topic",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needTopic(name, group); err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			p, err := topicPath(cmd.Context(), c, group, name)
			if err != nil {
				return err
			}
			return c.do(cmd.Context(), http.MethodDelete, p, eventGridAPI, nil, nil)
		},
	}
	topicFlags(cmd, &name, &group)
	cmd.Flags().BoolP("yes", "y", false, "accepted for compatibility (az does not prompt either)")
	return cmd
}

func topicKeyList(g *globals) *cobra.Command {
	var name, group string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List a topic's access keys",
		Example: "  lapis eventgrid topic key list -g myapp-rg -n orders-topic --query key1 -o tsv",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needTopic(name, group); err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			p, err := topicPath(cmd.Context(), c, group, name)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodPost, p+"/listKeys", eventGridAPI, nil, &out); err != nil {
				return err
			}
			return g.print(out)
		},
	}
	topicFlags(cmd, &name, &group)
	return cmd
}

func topicKeyRegenerate(g *globals) *cobra.Command {
	var name, group, keyName string
	cmd := &cobra.Command{
		Use:     "regenerate",
		Short:   "Regenerate one of a topic's access keys",
		Example: "  lapis eventgrid topic key regenerate -g myapp-rg -n orders-topic --key-name key1",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needTopic(name, group); err != nil {
				return err
			}
			if err := required(keyName, "--key-name"); err != nil {
				return err
			}
			k := strings.ToLower(keyName)
			if k != "key1" && k != "key2" {
				return usagef("argument --key-name: invalid choice: '%s' (choose from 'key1', 'key2')", keyName)
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			p, err := topicPath(cmd.Context(), c, group, name)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodPost, p+"/regenerateKey", eventGridAPI, map[string]string{"keyName": k}, &out); err != nil {
				return err
			}
			return g.print(out)
		},
	}
	topicFlags(cmd, &name, &group)
	cmd.Flags().StringVar(&keyName, "key-name", "", "key1 or key2")
	return cmd
}
