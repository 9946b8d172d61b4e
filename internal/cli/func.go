package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/sdkdist"
)

// newFuncCmd is "lapis func", the Core Tools-shaped local development commands.
func newFuncCmd(g *globals) *cobra.Command {
	cmd := noun("func", "Create, extend and run function apps locally, as Azure Functions Core Tools does")
	cmd.AddCommand(newFuncInitCmd(g), newFuncNewCmd(g), newFuncStartCmd(g), newFuncPublishCmd(g), newFuncAzureCmd(g))
	return cmd
}

// exeName is the Go worker's default executable name on this OS.
func exeName(base string) string {
	if runtime.GOOS == "windows" && !strings.HasSuffix(strings.ToLower(base), ".exe") {
		return base + ".exe"
	}
	return base
}

func newFuncInitCmd(g *globals) *cobra.Command {
	var runtimeName, name string
	var force bool
	cmd := &cobra.Command{
		Use:   "init <dir>",
		Short: "Create a function app: a Go SDK app (default) or a custom-handler app",
		Long: `Create a function app in <dir> with the seed's hello function.

--worker-runtime go (default) writes go.mod, main.go (the Lapis Go SDK), host.json,
local.settings.json and .gitignore. The SDK's source comes from inside lapis: it is
installed in the user cache directory (or $LAPIS_SDK_DIR) and go.mod points at it
with a replace directive, so the app builds offline with nothing but Go.

--worker-runtime custom writes host.json, hello/function.json and local.settings.json
for a worker in any language: supply an executable named "handler" in the app
(or edit host.json's customHandler.description).`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("func init needs one directory argument: lapis func init <dir>")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			if name == "" {
				name = filepath.Base(dir)
			}
			rt := strings.ToLower(runtimeName)
			if rt != "go" && rt != "custom" {
				return usagef("invalid --worker-runtime %q: use go or custom", runtimeName)
			}
			if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 && !force {
				return usagef("%s is not empty; use --force to write into it anyway", dir)
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			files, err := initFiles(rt, name)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			for _, f := range files {
				p := filepath.Join(dir, filepath.FromSlash(f.name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(p, f.data, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "Writing %s\n", p)
			}
			rel := args[0]
			if rt == "go" {
				fmt.Fprintf(g.stdout, "\nCreated Go function app %q. Run it with:\n  cd %s && lapis func start\n", name, rel)
			} else {
				fmt.Fprintf(g.stdout, "\nCreated custom-handler app %q. Put your worker executable in it as %q\n(any language; see README.md), then run: cd %s && lapis func start\n", name, exeName("handler"), rel)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&runtimeName, "worker-runtime", "go", "worker runtime: go (the Lapis Go SDK) or custom (any executable)")
	f.StringVar(&name, "name", "", "app name, and the Go module name (default: the directory's name)")
	f.BoolVar(&force, "force", false, "write into a directory that is not empty, overwriting files of the same names")
	return cmd
}

type appFile struct {
	name string
	data []byte
}

func jsonFile(v any) []byte {
	b, _ := json.MarshalIndent(v, "", "  ")
	return append(b, '\n')
}

var badModuleChars = regexp.MustCompile(`[^A-Za-z0-9._~/-]+`)

// moduleName makes a Go module path from an app name.
func moduleName(name string) string {
	m := strings.Trim(badModuleChars.ReplaceAllString(name, "-"), "-./")
	if m == "" {
		m = "app"
	}
	return m
}

// modPath writes a filesystem path for go.mod, quoted when it needs to be.
func modPath(p string) string {
	if strings.ContainsAny(p, " \t\"'`\\") {
		return strconv.Quote(p)
	}
	return p
}

const goMain = `// Command %s is a function app written with the Lapis Go SDK
// (github.com/lapisdev/lapis/sdk/fn). Run it with: lapis func start
package main

import "github.com/lapisdev/lapis/sdk/fn"

func main() {
	app := fn.NewApp()

	// HTTP trigger: GET /api/hello?name=Azure answers {"message":"Hello, Azure!"}
	app.HTTP("hello", fn.Route("hello"), fn.AuthLevel(fn.Anonymous), fn.Methods("GET", "POST"),
		func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
			name := req.Query.Get("name")
			if name == "" {
				name = "World"
			}
			ctx.Logf("greeting %%s", name)
			return fn.JSON(200, map[string]string{"message": "Hello, " + name + "!"}), nil
		})

	app.Run()
}
`

func localSettings() []byte {
	return jsonFile(map[string]any{
		"IsEncrypted": false,
		"Values": map[string]string{
			"FUNCTIONS_WORKER_RUNTIME": "custom",
			"AzureWebJobsStorage":      "UseDevelopmentStorage=true",
		},
	})
}

func hostJSON(exe string, forward bool) []byte {
	return jsonFile(map[string]any{
		"version": "2.0",
		"logging": map[string]any{"applicationInsights": map[string]any{"samplingSettings": map[string]any{
			"isEnabled": true, "excludedTypes": "Request"}}},
		"customHandler": map[string]any{
			"description":                 map[string]any{"defaultExecutablePath": exe, "workingDirectory": "", "arguments": []string{}},
			"enableForwardingHttpRequest": forward,
		},
	})
}

func httpFunctionJSON() []byte {
	return jsonFile(map[string]any{"bindings": []map[string]any{
		{"authLevel": "anonymous", "type": "httpTrigger", "direction": "in", "name": "req", "methods": []string{"get", "post"}},
		{"type": "http", "direction": "out", "name": "res"},
	}})
}

func initFiles(rt, name string) ([]appFile, error) {
	if rt == "custom" {
		exe := exeName("handler")
		readme := fmt.Sprintf("# %s\n\nA custom-handler function app. Supply any executable as `%s` in this directory (or set\n"+
			"host.json customHandler.description.defaultExecutablePath): it must serve HTTP on\n"+
			"$FUNCTIONS_CUSTOMHANDLER_PORT and answer POST /<function> with the custom-handler payload.\n"+
			"Run the app with `lapis func start`; add a function with `lapis func new --name <n> --template \"HTTP trigger\"`.\n", name, exe)
		return []appFile{
			{"host.json", hostJSON(exe, false)},
			{"local.settings.json", localSettings()},
			{"hello/function.json", httpFunctionJSON()},
			{"README.md", []byte(readme)},
			{".gitignore", []byte("local.settings.json\n.lapis/\n")},
		}, nil
	}
	sdkDir, err := sdkdist.Install("")
	if err != nil {
		return nil, err
	}
	exe := exeName("app")
	gomod := fmt.Sprintf("module %s\n\ngo 1.26\n\nrequire %s %s\n\n// The Lapis Go SDK, installed from the lapis binary (lapis func init); it is on no module proxy.\nreplace %s => %s\n",
		moduleName(name), sdkdist.ModulePath, sdkdist.Version, sdkdist.ModulePath, modPath(sdkDir))
	main, err := format.Source(fmt.Appendf(nil, goMain, moduleName(name)))
	if err != nil {
		return nil, err
	}
	return []appFile{
		{"go.mod", []byte(gomod)},
		{"main.go", main},
		{"host.json", hostJSON(exe, false)},
		{"local.settings.json", localSettings()},
		{".gitignore", []byte("/" + exe + "\nlocal.settings.json\n.lapis/\n")},
	}, nil
}

func newFuncNewCmd(g *globals) *cobra.Command {
	var name, template, dir string
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Add a function to the app",
		Long: `Add a function from a template (only "HTTP trigger" for now).

In a custom-handler app it writes <name>/function.json. In a Go app it adds an
app.HTTP registration to main.go just before the single "app.Run()" line, when
main.go has exactly one such line and no function of that name; otherwise it
prints the code to add by hand.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return usagef("--name is required")
			}
			if !appconfig.ValidFunctionName(name) {
				return usagef("invalid function name %q: use letters, digits, '-' and '_', starting with a letter", name)
			}
			switch strings.ToLower(strings.ReplaceAll(template, " ", "")) {
			case "httptrigger":
			default:
				return usagef("unknown --template %q: the templates are: \"HTTP trigger\"", template)
			}
			root, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if isGoApp(root) {
				return newGoFunction(g, root, name)
			}
			if _, err := os.Stat(filepath.Join(root, "host.json")); err != nil {
				return fmt.Errorf("%s is not a function app (no host.json); create one with lapis func init", root)
			}
			p := filepath.Join(root, name, appconfig.FunctionFile)
			if _, err := os.Stat(p); err == nil {
				return fmt.Errorf("function %q already exists (%s)", name, p)
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, httpFunctionJSON(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Writing %s\nThe function %q was created: your worker answers it at POST /%s.\n", p, name, name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&name, "name", "n", "", "function name")
	f.StringVarP(&template, "template", "t", "HTTP trigger", "template: \"HTTP trigger\"")
	f.StringVar(&dir, "dir", ".", "the app's directory")
	return cmd
}

// isGoApp reports whether root is a Go SDK app (a go.mod beside the sources).
func isGoApp(root string) bool {
	_, err := os.Stat(filepath.Join(root, "go.mod"))
	return err == nil
}

const goHTTPSnippet = `app.HTTP(%q, fn.Route(%q), fn.AuthLevel(fn.Anonymous), fn.Methods("GET", "POST"),
	func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
		return fn.JSON(200, map[string]string{"message": "Hello from %s"}), nil
	})
`

var appRunLine = regexp.MustCompile(`(?m)^([ \t]*)app\.Run\(\)[ \t]*$`)

func newGoFunction(g *globals, root, name string) error {
	snippet := fmt.Sprintf(goHTTPSnippet, name, name, name)
	p := filepath.Join(root, "main.go")
	src, err := os.ReadFile(p)
	safe := err == nil && len(appRunLine.FindAllIndex(src, -1)) == 1 &&
		!bytes.Contains(src, []byte(fmt.Sprintf("app.HTTP(%q", name))) && !bytes.Contains(src, []byte(fmt.Sprintf("app.Function(%q", name)))
	if safe {
		loc := appRunLine.FindSubmatchIndex(src)
		indent := string(src[loc[2]:loc[3]])
		var ins strings.Builder
		for line := range strings.SplitSeq(strings.TrimSuffix(snippet, "\n"), "\n") {
			ins.WriteString(indent + line + "\n")
		}
		ins.WriteString("\n")
		out := slices.Concat(src[:loc[0]], []byte(ins.String()), src[loc[0]:])
		if formatted, ferr := format.Source(out); ferr == nil {
			if err := os.WriteFile(p, formatted, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Added the HTTP function %q to %s (GET/POST /api/%s). Edit its handler there.\n", name, p, name)
			return nil
		}
	}
	fmt.Fprintf(g.stdout, "Add this to main() in %s, before app.Run():\n\n%s", p, snippet)
	return nil
}
