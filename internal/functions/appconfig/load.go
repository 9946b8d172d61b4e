package appconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// App is a function app in Azure's custom-handler layout.
type App struct {
	Host      *HostConfig
	Functions []*Function // sorted by name
}

// Function returns the function called name (case-insensitively, as Azure routes function names), or nil.
func (a *App) Function(name string) *Function {
	for _, f := range a.Functions {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// Options tune Load.
type Options struct {
	// Lookup resolves %NAME% app-setting references in customHandler.description and in binding properties, and
	// supplies the AzureWebJobs.<function>.Disabled settings. When nil, references are kept as written.
	Lookup Lookup
}

// Load reads the app rooted at fsys: host.json (Azure's defaults when the file is absent) and every top-level
// folder that holds a function.json. Other folders and files are ignored, as Azure ignores them. When host.json
// lists "functions", only those are loaded.
//
// Load reports every problem it finds, joined with errors.Join; each is a *FieldError naming the file, the JSON
// path of the field and what is allowed. When only some functions are broken, Load returns both an error and an
// App that holds host.json and the functions that loaded cleanly, so a host can run those and report the rest, as
// Azure does. When host.json itself is broken the App is nil.
func Load(fsys fs.FS, opts Options) (*App, error) {
	var errs []error
	app := &App{}

	hc := &collector{file: HostFile}
	data, err := fs.ReadFile(fsys, HostFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		app.Host = DefaultHostConfig()
	case err != nil:
		return nil, fmt.Errorf("%s: %w", HostFile, err)
	default:
		app.Host = parseHost(hc, data, opts.Lookup)
	}
	hostErr := hc.err()
	if hostErr != nil {
		errs = append(errs, hostErr)
	}

	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, errors.Join(append(errs, fmt.Errorf("reading the app folder: %w", err))...)
	}
	seen := map[string]string{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		file := path.Join(name, FunctionFile)
		data, err := fs.ReadFile(fsys, file)
		if errors.Is(err, fs.ErrNotExist) {
			continue // not a function folder
		}
		if err != nil {
			errs = append(errs, &FieldError{File: file, Msg: err.Error()})
			continue
		}
		if app.Host != nil && app.Host.Functions != nil && !slices.ContainsFunc(app.Host.Functions, func(s string) bool { return strings.EqualFold(s, name) }) {
			continue
		}
		c := &collector{file: file}
		if other, dup := seen[strings.ToLower(name)]; dup {
			c.add("", "function name %q differs from %q only in case; function names are case-insensitive", name, other)
		}
		seen[strings.ToLower(name)] = name
		f := parseFunction(c, name, data, opts.Lookup)
		if opts.Lookup != nil && !f.Disabled {
			if v, ok := opts.Lookup("AzureWebJobs." + name + ".Disabled"); ok {
				v = strings.TrimSpace(v)
				f.Disabled = strings.EqualFold(v, "true") || v == "1"
			}
		}
		if err := c.err(); err != nil {
			errs = append(errs, err)
			continue
		}
		app.Functions = append(app.Functions, f)
	}
	slices.SortFunc(app.Functions, func(a, b *Function) int { return strings.Compare(a.Name, b.Name) })
	if hostErr != nil {
		return nil, errors.Join(errs...)
	}
	return app, errors.Join(errs...)
}
