package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// appSettings reads a function app's settings.
func appSettings(ctx context.Context, c *client, site string) (map[string]string, error) {
	var out struct {
		Properties map[string]string `json:"properties"`
	}
	if err := c.do(ctx, http.MethodPost, site+"/config/appsettings/list", webAPI, nil, &out); err != nil {
		return nil, err
	}
	if out.Properties == nil {
		out.Properties = map[string]string{}
	}
	return out.Properties, nil
}

// putAppSettings replaces a function app's settings and returns them as
// the server stored them.
func putAppSettings(ctx context.Context, c *client, site string, settings map[string]string) (map[string]string, error) {
	var out struct {
		Properties map[string]string `json:"properties"`
	}
	if err := c.do(ctx, http.MethodPut, site+"/config/appsettings", webAPI, map[string]any{"properties": settings}, &out); err != nil {
		return nil, err
	}
	if out.Properties == nil {
		return settings, nil
	}
	return out.Properties, nil
}

// settingsOutput is az's shape of app settings: a list of
// {"name","slotSetting","value"}, here in name order.
func settingsOutput(m map[string]string) []any {
	out := make([]any, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, map[string]any{"name": k, "slotSetting": false, "value": m[k]})
	}
	return out
}

// parseSettings reads az's --settings words: KEY=VALUE, or @file with a
// JSON object {"KEY": "VALUE"} or the list that appsettings list prints.
func parseSettings(words []string) (map[string]string, error) {
	out := map[string]string{}
	for _, w := range words {
		if file, ok := strings.CutPrefix(w, "@"); ok {
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, usagef("argument --settings: %v", err)
			}
			m, err := settingsFile(data)
			if err != nil {
				return nil, usagef("argument --settings: %s: %v", file, err)
			}
			maps.Copy(out, m)
			continue
		}
		k, v, ok := strings.Cut(w, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("argument --settings: invalid setting '%s': use KEY=VALUE or @file.json", w)
		}
		out[k] = v
	}
	return out, nil
}

// settingsFile decodes an @file of settings.
func settingsFile(data []byte) (map[string]string, error) {
	var list []struct {
		Name  *string `json:"name"`
		Value any     `json:"value"`
	}
	if err := json.Unmarshal(data, &list); err == nil {
		out := map[string]string{}
		for i, s := range list {
			if s.Name == nil || *s.Name == "" {
				return nil, fmt.Errorf("element %d has no name", i)
			}
			out[*s.Name] = settingValue(s.Value)
		}
		return out, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("not a JSON object of settings or a list of {\"name\", \"value\"}: %v", err)
	}
	out := map[string]string{}
	for k, v := range obj {
		out[k] = settingValue(v)
	}
	return out, nil
}

func settingValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// mergeSettings returns cur with set applied and the names in remove taken out.
func mergeSettings(cur, set map[string]string, remove []string) map[string]string {
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, set)
	for _, k := range remove {
		delete(out, k)
	}
	return out
}

func appSettingsList(g *globals) *cobra.Command {
	cmd, _ := appCmd(g, "list", "List a function app's settings", "  lapis functionapp config appsettings list -g myapp-rg -n myfuncapp -o table",
		func(cmd *cobra.Command, c *client, site string) error {
			m, err := appSettings(cmd.Context(), c, site)
			if err != nil {
				return err
			}
			return g.print(settingsOutput(m))
		})
	return cmd
}

func appSettingsSet(g *globals) *cobra.Command {
	var set map[string]string
	return appSettingsChange(g, "set", "Add or change a function app's settings",
		"  lapis functionapp config appsettings set -g myapp-rg -n myfuncapp --settings GREETING=Hello MODE=test\n"+
			"  lapis functionapp config appsettings set -g myapp-rg -n myfuncapp --settings @settings.json",
		"settings", "space-separated settings: KEY=VALUE [KEY=VALUE ...], or @file.json",
		func(values []string) (err error) {
			set, err = parseSettings(values)
			return err
		},
		func(cur map[string]string) map[string]string { return mergeSettings(cur, set, nil) })
}

func appSettingsDelete(g *globals) *cobra.Command {
	var names []string
	return appSettingsChange(g, "delete", "Delete function app settings",
		"  lapis functionapp config appsettings delete -g myapp-rg -n myfuncapp --setting-names GREETING MODE",
		"setting-names", "space-separated names of the settings to delete",
		func(values []string) error { names = values; return nil },
		func(cur map[string]string) map[string]string { return mergeSettings(cur, nil, names) })
}

// appSettingsChange builds a command that reads the settings, changes them with change and writes them back, as
// az does, then prints them. Its flag takes space-separated values (--flag A B or --flag A --flag B), which parse
// checks before anything is sent.
func appSettingsChange(g *globals, use, short, example, flag, usage string, parse func([]string) error,
	change func(map[string]string) map[string]string) *cobra.Command {
	var values []string
	cmd, ref := appCmd(g, use, short, example,
		func(cmd *cobra.Command, c *client, site string) error {
			ctx := cmd.Context()
			cur, err := appSettings(ctx, c, site)
			if err != nil {
				return err
			}
			out, err := putAppSettings(ctx, c, site, change(cur))
			if err != nil {
				return err
			}
			return g.print(settingsOutput(out))
		})
	cmd.Args = cobra.ArbitraryArgs
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		more, err := restArgs(cmd, args, flag)
		if err != nil {
			return err
		}
		values = append(values, more...)
		return run(cmd, nil)
	}
	ref.checks = append(ref.checks, func(*cobra.Command) error {
		if len(values) == 0 {
			return usagef("the following arguments are required: --%s", flag)
		}
		return parse(values)
	})
	cmd.Flags().StringArrayVar(&values, flag, nil, usage)
	return cmd
}
