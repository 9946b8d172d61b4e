package cli

import (
	"context"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

// planSKUs are the plan SKUs the commands take, in az's spelling.
var planSKUs = []string{"Y1", "FC1", "EP1", "EP2", "EP3", "B1", "B2", "B3", "S1", "S2", "S3",
	"P1v2", "P2v2", "P3v2", "P1v3", "P2v3", "P3v3"}

// planSKU returns the SKU in its canonical spelling, taken without regard
// to case as az does.
func planSKU(s string) (string, error) {
	for _, k := range planSKUs {
		if strings.EqualFold(k, s) {
			return k, nil
		}
	}
	return "", usagef("argument --sku: invalid choice: '%s' (choose from %s)", s, "'"+strings.Join(planSKUs, "', '")+"'")
}

// planKind is the kind az gives a plan of the SKU.
func planKind(sku string, linux bool) string {
	switch {
	case strings.HasPrefix(sku, "EP"):
		return "elastic"
	case sku == "Y1" || sku == "FC1":
		return "functionapp"
	case linux:
		return "linux"
	}
	return "app"
}

// planTable is the -o table view of plans.
const planTable = "{Name:name, ResourceGroup:resourceGroup, Location:location, Sku:sku.name, Kind:kind, Workers:sku.capacity, MaxBurst:maximumElasticWorkerCount, Status:status}"

// planScale are the scale flags of plan create and update.
type planScale struct {
	sku                          string
	minInstances, maxBurst, work int
}

func (s *planScale) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.sku, "sku", "", "Y1, FC1, EP1-EP3 (Elastic Premium), B1-B3, S1-S3, P1v2-P3v2 or P1v3-P3v3")
	f.IntVar(&s.minInstances, "min-instances", 0, "always-ready instances of an Elastic Premium plan (sku.capacity)")
	f.IntVar(&s.maxBurst, "max-burst", 0, "most instances an Elastic Premium plan scales out to (maximumElasticWorkerCount)")
	f.IntVar(&s.work, "number-of-workers", 0, "instances of the plan (sku.capacity)")
}

// check validates the flags given and returns the canonical SKU (or "").
func (s *planScale) check(cmd *cobra.Command, currentSKU string) (string, error) {
	sku := currentSKU
	if cmd.Flags().Changed("sku") {
		var err error
		if sku, err = planSKU(s.sku); err != nil {
			return "", err
		}
	}
	changed := cmd.Flags().Changed
	for _, f := range []struct {
		name string
		v    int
	}{{"min-instances", s.minInstances}, {"max-burst", s.maxBurst}, {"number-of-workers", s.work}} {
		if changed(f.name) && f.v < 0 {
			return "", usagef("argument --%s: must not be negative", f.name)
		}
	}
	if changed("min-instances") && changed("number-of-workers") {
		return "", usagef("usage error: --min-instances and --number-of-workers both set the plan's instance count: pass one")
	}
	if changed("max-burst") && !strings.HasPrefix(sku, "EP") {
		return "", usagef("usage error: --max-burst is for Elastic Premium (EP1, EP2, EP3) plans only")
	}
	return sku, nil
}

// capacity returns the instance count the flags ask for, if any.
func (s *planScale) capacity(cmd *cobra.Command) (int, bool) {
	switch {
	case cmd.Flags().Changed("number-of-workers"):
		return s.work, true
	case cmd.Flags().Changed("min-instances"):
		return s.minInstances, true
	}
	return 0, false
}

func planPath(ctx context.Context, c *client, group, nameOrID string) (string, error) {
	return resourcePath(ctx, c, group, nameOrID, "Microsoft.Web/serverfarms")
}

// getPlan reads a plan, named in the group or by id, in ARM's shape.
func getPlan(ctx context.Context, c *client, group, nameOrID string) (map[string]any, error) {
	p, err := planPath(ctx, c, group, nameOrID)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, c.do(ctx, http.MethodGet, p, webAPI, nil, &out)
}

func planCreate(g *globals) *cobra.Command {
	var name, group, location string
	var linux bool
	var tags []string
	var s planScale
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a hosting plan for function apps",
		Example: `  lapis functionapp plan create -g myapp-rg -n myplan --sku EP1 --min-instances 1 --max-burst 10 --is-linux
  lapis functionapp plan create -g myapp-rg -n dedicated --sku P1v3 --number-of-workers 2`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			more, err := restArgs(cmd, args, "tags")
			if err != nil {
				return err
			}
			if err := needApp(name, group); err != nil {
				return err
			}
			if err := required(s.sku, "--sku"); err != nil {
				return err
			}
			sku, err := s.check(cmd, "")
			if err != nil {
				return err
			}
			skuBody := map[string]any{"name": sku}
			if n, ok := s.capacity(cmd); ok {
				skuBody["capacity"] = n
			}
			props := map[string]any{"reserved": linux}
			if cmd.Flags().Changed("max-burst") {
				props["maximumElasticWorkerCount"] = s.maxBurst
			}
			body := map[string]any{"kind": planKind(sku, linux), "sku": skuBody, "properties": props}
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
			if location == "" {
				if location, err = groupLocation(ctx, c, group); err != nil {
					return err
				}
			}
			body["location"] = location
			p, err := planPath(ctx, c, group, name)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do(ctx, http.MethodPut, p, webAPI, body, &out); err != nil {
				return err
			}
			return g.printTable(flattenResource(out), planTable)
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the plan")
	cmd.Flags().StringVarP(&group, "resource-group", "g", "", "resource group")
	cmd.Flags().StringVarP(&location, "location", "l", "", "location (default: the resource group's)")
	cmd.Flags().BoolVar(&linux, "is-linux", false, "a Linux plan (reserved)")
	cmd.Flags().StringArrayVar(&tags, "tags", nil, `space-separated tags: key[=value] [key[=value] ...]; "" clears`)
	s.flags(cmd)
	return cmd
}

func planUpdate(g *globals) *cobra.Command {
	var name, group string
	var s planScale
	cmd := &cobra.Command{
		Use:     "update",
		Short:   "Change a plan's SKU or scale",
		Example: "  lapis functionapp plan update -g myapp-rg -n myplan --sku EP2 --max-burst 20",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needApp(name, group); err != nil {
				return err
			}
			if cmd.Flags().Changed("sku") {
				if _, err := planSKU(s.sku); err != nil {
					return err
				}
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			p, err := planPath(ctx, c, group, name)
			if err != nil {
				return err
			}
			var cur map[string]any
			if err := c.do(ctx, http.MethodGet, p, webAPI, nil, &cur); err != nil {
				return err
			}
			skuBody, _ := cur["sku"].(map[string]any)
			if skuBody == nil {
				skuBody = map[string]any{}
			}
			curSKU, _ := skuBody["name"].(string)
			sku, err := s.check(cmd, curSKU)
			if err != nil {
				return err
			}
			if sku != curSKU {
				// The tier and family belong to the old SKU: the server fills in the new ones.
				skuBody = map[string]any{"name": sku, "capacity": skuBody["capacity"]}
			}
			if n, ok := s.capacity(cmd); ok {
				skuBody["capacity"] = n
			}
			props, _ := cur["properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
			}
			if cmd.Flags().Changed("max-burst") {
				props["maximumElasticWorkerCount"] = s.maxBurst
			}
			body := map[string]any{"location": cur["location"], "sku": skuBody, "properties": props}
			for _, k := range []string{"kind", "tags"} {
				if v, ok := cur[k]; ok {
					body[k] = v
				}
			}
			var out map[string]any
			if err := c.do(ctx, http.MethodPut, p, webAPI, body, &out); err != nil {
				return err
			}
			return g.printTable(flattenResource(out), planTable)
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the plan")
	cmd.Flags().StringVarP(&group, "resource-group", "g", "", "resource group")
	s.flags(cmd)
	return cmd
}

func planShow(g *globals) *cobra.Command {
	var name, group string
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Show a plan",
		Example: "  lapis functionapp plan show -g myapp-rg -n myplan --query sku.name -o tsv",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needApp(name, group); err != nil {
				return err
			}
			c, err := newClient(g)
			if err != nil {
				return err
			}
			out, err := getPlan(cmd.Context(), c, group, name)
			if err != nil {
				return err
			}
			return g.printTable(flattenResource(out), planTable)
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the plan")
	cmd.Flags().StringVarP(&group, "resource-group", "g", "", "resource group")
	return cmd
}

func planList(g *globals) *cobra.Command {
	return typedListCmd(g, "List plans, in one resource group or all", "  lapis functionapp plan list -g myapp-rg -o table",
		"Microsoft.Web/serverfarms", webAPI, planTable)
}

func planDelete(g *globals) *cobra.Command {
	var name, group string
	var yes bool
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   "Delete a plan",
		Example: "  lapis functionapp plan delete -g myapp-rg -n myplan --yes",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needApp(name, group); err != nil {
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
			p, err := planPath(cmd.Context(), c, group, name)
			if err != nil {
				return err
			}
			return c.do(cmd.Context(), http.MethodDelete, p, webAPI, nil, nil)
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the plan")
	cmd.Flags().StringVarP(&group, "resource-group", "g", "", "resource group")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not prompt for confirmation")
	return cmd
}
