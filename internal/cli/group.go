package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newGroupCmd(g *globals) *cobra.Command {
	cmd := noun("group", "Manage resource groups")
	cmd.AddCommand(groupCreate(g), groupShow(g), groupList(g), groupDelete(g), groupExists(g), groupUpdate(g))
	return cmd
}

// groupName adds az's -n/--name and its -g/--resource-group alias.
func groupName(cmd *cobra.Command, name *string) {
	cmd.Flags().StringVarP(name, "name", "n", "", "name of the resource group")
	cmd.Flags().StringVarP(name, "resource-group", "g", "", "name of the resource group (same as --name)")
}

func required(name, flag string) error {
	if name == "" {
		return usagef("the following arguments are required: %s", flag)
	}
	return nil
}

func groupPath(c *client, ctx context.Context, name string) (string, error) {
	sub, err := c.sub(ctx)
	if err != nil {
		return "", err
	}
	return "/subscriptions/" + url.PathEscape(sub) + "/resourcegroups/" + url.PathEscape(name), nil
}

// groupLocation is the resource group's location, az's default for new resources.
func groupLocation(ctx context.Context, c *client, group string) (string, error) {
	gp, err := groupPath(c, ctx, group)
	if err != nil {
		return "", err
	}
	var rg struct{ Location string }
	return rg.Location, c.do(ctx, http.MethodGet, gp, resourcesAPI, nil, &rg)
}

func groupCreate(g *globals) *cobra.Command {
	var name, location, managedBy string
	var tags []string
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a resource group, or update its tags",
		Example: "  lapis group create -n myapp-rg -l eastus --tags env=dev team=web",
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			more, err := restArgs(cmd, args, "tags")
			if err != nil {
				return err
			}
			if err := required(name, "--name/-n"); err != nil {
				return err
			}
			if err := required(location, "--location/-l"); err != nil {
				return err
			}
			body := map[string]any{"location": location}
			if cmd.Flags().Changed("tags") {
				t, err := parseTags(append(tags, more...))
				if err != nil {
					return err
				}
				body["tags"] = t
			}
			if managedBy != "" {
				body["managedBy"] = managedBy
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			p, err := groupPath(c, cmd.Context(), name)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodPut, p, resourcesAPI, body, &out); err != nil {
				return err
			}
			return g.printTable(azGroup(out), groupTable)
		},
	}
	groupName(cmd, &name)
	cmd.Flags().StringVarP(&location, "location", "l", "", "location, e.g. eastus")
	cmd.Flags().StringArrayVar(&tags, "tags", nil, `space-separated tags: key[=value] [key[=value] ...]; "" clears`)
	cmd.Flags().StringVar(&managedBy, "managed-by", "", "id of the resource that manages this group")
	return cmd
}

func groupUpdate(g *globals) *cobra.Command {
	var name string
	var tags []string
	cmd := &cobra.Command{
		Use:     "update",
		Short:   "Update a resource group's tags",
		Example: "  lapis group update -n myapp-rg --tags env=prod",
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			more, err := restArgs(cmd, args, "tags")
			if err != nil {
				return err
			}
			if err := required(name, "--name/-n"); err != nil {
				return err
			}
			body := map[string]any{}
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
			p, err := groupPath(c, cmd.Context(), name)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodPatch, p, resourcesAPI, body, &out); err != nil {
				return err
			}
			return g.printTable(azGroup(out), groupTable)
		},
	}
	groupName(cmd, &name)
	cmd.Flags().StringArrayVar(&tags, "tags", nil, `space-separated tags: key[=value] [key[=value] ...]; "" clears`)
	return cmd
}

func groupShow(g *globals) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Show a resource group",
		Example: "  lapis group show -n myapp-rg --query location -o tsv",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(name, "--name/-n"); err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			p, err := groupPath(c, cmd.Context(), name)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodGet, p, resourcesAPI, nil, &out); err != nil {
				return err
			}
			return g.printTable(azGroup(out), groupTable)
		},
	}
	groupName(cmd, &name)
	return cmd
}

func groupList(g *globals) *cobra.Command {
	var tag string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List resource groups",
		Example: "  lapis group list --tag env=dev -o table",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newClient(g)
			if err != nil {
				return err
			}
			sub, err := c.sub(cmd.Context())
			if err != nil {
				return err
			}
			p := "/subscriptions/" + url.PathEscape(sub) + "/resourcegroups"
			if tag != "" {
				p += "?$filter=" + url.QueryEscape(tagFilter(tag))
			}
			out, err := c.list(cmd.Context(), p, resourcesAPI)
			if err != nil {
				return err
			}
			for _, r := range out {
				if m, ok := r.(map[string]any); ok {
					azGroup(m)
				}
			}
			return g.printTable(nonNilList(out), "[]."+groupTable)
		},
	}
	cmd.Flags().StringVar(&tag, "tag", "", "only groups with this tag: key[=value]")
	return cmd
}

// groupTable is az's table for groups.
const groupTable = "{Name:name, Location:location, Status:properties.provisioningState}"

// azGroup gives a group the fields az always prints, null when unset, so
// that tsv columns line up from row to row.
func azGroup(m map[string]any) map[string]any {
	for _, k := range []string{"managedBy", "tags"} {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	return m
}

func tagFilter(tag string) string {
	k, v, hasValue := strings.Cut(tag, "=")
	f := "tagName eq '" + odataQuote(k) + "'"
	if hasValue {
		f += " and tagValue eq '" + odataQuote(v) + "'"
	}
	return f
}

func odataQuote(s string) string { return strings.ReplaceAll(s, "'", "''") }

func nonNilList(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func groupDelete(g *globals) *cobra.Command {
	var name, forceTypes string
	var yes, noWait bool
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   "Delete a resource group and every resource in it",
		Example: "  lapis group delete -n myapp-rg --yes",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(name, "--name/-n"); err != nil {
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
			p, err := groupPath(c, cmd.Context(), name)
			if err != nil {
				return err
			}
			return c.do(cmd.Context(), http.MethodDelete, p, resourcesAPI, nil, nil)
		},
	}
	groupName(cmd, &name)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not prompt for confirmation")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "accepted for az compatibility; deletion is synchronous")
	cmd.Flags().StringVarP(&forceTypes, "force-deletion-types", "f", "", "accepted for az compatibility")
	return cmd
}

// confirm asks on the terminal, and refuses when there is none, as az does.
func confirm(g *globals, prompt string) error {
	if f, ok := g.stdin.(*os.File); !ok || !isTerminal(f) {
		return usagef("unable to prompt for confirmation as no tty is available; use --yes")
	}
	fmt.Fprint(g.stderr, prompt)
	line, _ := bufio.NewReader(g.stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return fmt.Errorf("operation cancelled")
	}
	return nil
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func groupExists(g *globals) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "exists",
		Short:   "Print true if the resource group exists, false if not",
		Example: "  lapis group exists -n myapp-rg",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := required(name, "--name/-n"); err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			p, err := groupPath(c, cmd.Context(), name)
			if err != nil {
				return err
			}
			// GET rather than HEAD: a 404 body tells a missing group from a
			// missing subscription.
			err = c.do(cmd.Context(), http.MethodGet, p, resourcesAPI, nil, nil)
			var ae *apiError
			if errors.As(err, &ae) && ae.Code == "ResourceGroupNotFound" {
				return g.print(false)
			}
			if err != nil {
				return err
			}
			return g.print(true)
		},
	}
	groupName(cmd, &name)
	return cmd
}
