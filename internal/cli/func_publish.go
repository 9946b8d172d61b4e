package cli

import (
	"archive/zip"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// newFuncAzureCmd is Core Tools' spelling "func azure functionapp publish".
func newFuncAzureCmd(g *globals) *cobra.Command {
	azure := noun("azure", "Commands on function apps in Lapis, as Core Tools' func azure")
	fa := noun("functionapp", "Publish to a function app")
	fa.AddCommand(newFuncPublishCmd(g))
	azure.AddCommand(fa)
	return azure
}

// newFuncPublishCmd is "lapis func publish <app>", also reachable as
// "lapis func azure functionapp publish <app>".
func newFuncPublishCmd(g *globals) *cobra.Command {
	var group, dir string
	var noBuild, listFiles bool
	cmd := &cobra.Command{
		Use:   "publish <app>",
		Short: "Build the app in this directory and deploy it to a function app",
		Long: `Deploy the function app in the current directory (or --dir) to the function app <app>, as
"func azure functionapp publish" does. A Go app (one with go.mod) is built first for the
server's OS and architecture: go build -o <executable> . with CGO_ENABLED=0, the executable
named in host.json (customHandler.description.defaultExecutablePath). The directory is then
zipped, without .git, .vscode, .lapis, __pycache__, local.settings.json and what .funcignore
names, and uploaded as a zip deployment. The resource group is found from the app's name
unless -g is given.`,
		Example: `  lapis func publish myfuncapp
  lapis func azure functionapp publish myfuncapp --resource-group myapp-rg`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("publish needs the function app's name: lapis func publish <app>")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			return runPublish(cmd.Context(), g, publishOptions{app: args[0], group: group, root: root, noBuild: noBuild, listFiles: listFiles})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&group, "resource-group", "g", "", "the app's resource group (default: found from the app's name)")
	f.StringVar(&dir, "dir", ".", "the app's directory")
	f.BoolVar(&noBuild, "no-build", false, "do not build a Go app: deploy the executable already in the directory")
	f.BoolVar(&listFiles, "list-included-files", false, "print the files that would be deployed and stop")
	return cmd
}

type publishOptions struct {
	app, group, root   string
	noBuild, listFiles bool
}

// serverPlatform is the server's OS and architecture: GET /version, or
// this machine's when the server does not say.
func serverPlatform(ctx context.Context, c *client) (goos, goarch string, err error) {
	var v struct {
		OS   string `json:"os"`
		Arch string `json:"arch"`
	}
	err = c.do(ctx, http.MethodGet, "/version", "", nil, &v)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return runtime.GOOS, runtime.GOARCH, nil
	}
	if err != nil {
		return "", "", err
	}
	if v.OS == "" || v.Arch == "" {
		return runtime.GOOS, runtime.GOARCH, nil
	}
	return v.OS, v.Arch, nil
}

func runPublish(ctx context.Context, g *globals, o publishOptions) error {
	out := g.stdout
	hostFile := filepath.Join(o.root, "host.json")
	_, hostErr := os.Stat(hostFile)
	goApp := isGoApp(o.root)
	if hostErr != nil && !goApp {
		return fmt.Errorf("%s is not a function app (no host.json or go.mod); create one with lapis func init", o.root)
	}

	// What the zip holds beyond the directory, and which entries must be executable.
	var opts zipOptions
	var exe string
	if goApp {
		var fromHost bool
		var err error
		if exe, fromHost, err = goExecutable(o.root, nil); err != nil {
			return err
		}
		if filepath.IsAbs(exe) {
			return fmt.Errorf("host.json names an absolute executable path (%s): a deployed app needs one inside the app", exe)
		}
		if hostErr == nil && !fromHost {
			return fmt.Errorf("%s has no customHandler.description.defaultExecutablePath: set it to the executable the app builds to (lapis func init writes \"app\")", hostFile)
		}
		if hostErr != nil {
			opts.extra = map[string][]byte{"host.json": hostJSON(filepath.ToSlash(exe), false)}
			fmt.Fprintf(out, "The app has no host.json: the deployment gets one that runs %s.\n", filepath.ToSlash(exe))
		}
		opts.executables = []string{filepath.ToSlash(exe)}
	}

	if o.listFiles {
		names, err := writeAppZip(io.Discard, o.root, opts)
		if err != nil {
			return err
		}
		if goApp && !o.noBuild && !slices.Contains(names, filepath.ToSlash(exe)) {
			names = append(names, filepath.ToSlash(exe)) // publish builds it first
		}
		for _, n := range names {
			fmt.Fprintln(out, n)
		}
		return nil
	}

	c, err := newClient(g)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "Getting site publishing info...")
	group := o.group
	if group == "" {
		if group, err = findSiteGroup(ctx, c, o.app); err != nil {
			return err
		}
	}
	site, err := sitePath(ctx, c, group, o.app)
	if err != nil {
		return err
	}
	if err := c.do(ctx, http.MethodGet, site, webAPI, nil, nil); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return &apiError{Status: http.StatusNotFound, Code: ae.Code, Message: fmt.Sprintf("Can't find app with name %q in resource group %q", o.app, group)}
		}
		return err
	}

	if goApp {
		exePath := filepath.Join(o.root, exe)
		if o.noBuild {
			if _, err := os.Stat(exePath); err != nil {
				return fmt.Errorf("--no-build: the app's executable %s is missing; build it for the server's platform first", exe)
			}
		} else {
			goos, goarch, err := serverPlatform(ctx, c)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Building %s for %s/%s: go build -o %s .\n", o.root, goos, goarch, exe)
			build := exec.CommandContext(ctx, "go", "build", "-o", exe, ".")
			build.Dir = o.root
			build.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
			if b, err := build.CombinedOutput(); err != nil {
				return fmt.Errorf("go build failed in %s: %v\n%s", o.root, err, strings.TrimSpace(string(b)))
			}
		}
	}

	fmt.Fprintln(out, "Creating archive for current directory...")
	tmp, err := os.CreateTemp("", "lapis-publish-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	opts.exclude = tmp.Name()
	bw := bufio.NewWriter(tmp)
	_, err = writeAppZip(bw, o.root, opts)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("creating the archive: %w", err)
	}

	if _, err := zipDeploy(ctx, g, c, site, tmp.Name()); err != nil {
		return err
	}
	fmt.Fprintln(out, "Deployment completed successfully.")

	items, err := c.list(ctx, site+"/functions", webAPI)
	if err != nil {
		return fmt.Errorf("the deployment succeeded, but listing its functions failed: %w", err)
	}
	fmt.Fprintf(out, "Functions in %s:\n", o.app)
	if len(items) == 0 {
		fmt.Fprintln(out, "    (none)")
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		fn := azFunction(m)
		name, _ := fn["name"].(string)
		if i := strings.LastIndex(name, "/"); i >= 0 {
			name = name[i+1:]
		}
		fmt.Fprintf(out, "    %s - [%s]\n", name, triggerType(fn))
		if u, _ := fn["invokeUrlTemplate"].(string); u != "" {
			fmt.Fprintf(out, "        Invoke url: %s\n", u)
		}
	}
	return nil
}

// triggerType is the type of a function's trigger binding.
func triggerType(fn map[string]any) string {
	cfg, _ := fn["config"].(map[string]any)
	bindings, _ := cfg["bindings"].([]any)
	for _, b := range bindings {
		m, _ := b.(map[string]any)
		if t, _ := m["type"].(string); strings.HasSuffix(strings.ToLower(t), "trigger") {
			return t
		}
	}
	return "unknown trigger"
}

// zipOptions shape writeAppZip's archive.
type zipOptions struct {
	// exclude is a file (an absolute path) left out: the archive itself.
	exclude string
	// executables are entries (slash paths) stored with mode 0755 whatever
	// their mode on disk, so that a server on Unix can run them.
	executables []string
	// extra are entries added that are not in the directory; a file of
	// the same name in the directory gives way to them.
	extra map[string][]byte
}

// excludedDirs and excludedFiles are never deployed.
var (
	excludedDirs  = []string{".git", ".vscode", ".lapis", "__pycache__"}
	excludedFiles = []string{"local.settings.json"}
)

// writeAppZip writes the app directory root to w as a zip and returns the
// entry names in the order written. Files keep their Unix mode (the
// executable bit) in the entries' external attributes. Left out: the
// directories .git, .vscode, .lapis and __pycache__ anywhere,
// local.settings.json anywhere, opts.exclude, and what root/.funcignore
// names. Symbolic links to files are stored as the files; links to
// directories are skipped.
func writeAppZip(w io.Writer, root string, opts zipOptions) ([]string, error) {
	ignore, err := readFuncignore(filepath.Join(root, ".funcignore"))
	if err != nil {
		return nil, err
	}
	zw := zip.NewWriter(w)
	var names []string
	add := func(name string, mode fs.FileMode, fi fs.FileInfo, r io.Reader) error {
		hdr := &zip.FileHeader{Name: name, Method: zip.Deflate}
		if fi != nil {
			hdr.Modified = fi.ModTime()
		}
		if slices.Contains(opts.executables, name) {
			mode = 0o755
		}
		hdr.SetMode(mode)
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := io.Copy(fw, r); err != nil {
			return err
		}
		names = append(names, name)
		return nil
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		name := filepath.ToSlash(rel)
		if d.IsDir() {
			if slices.Contains(excludedDirs, d.Name()) || ignore.match(name, true) {
				return filepath.SkipDir
			}
			return nil
		}
		if slices.Contains(excludedFiles, d.Name()) || ignore.match(name, false) || sameFile(p, opts.exclude) {
			return nil
		}
		if _, ok := opts.extra[name]; ok {
			return nil
		}
		fi, err := os.Stat(p) // follows links
		if err != nil {
			if d.Type()&fs.ModeSymlink != 0 {
				return nil // a dangling link
			}
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return add(name, fi.Mode().Perm(), fi, f)
	})
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(opts.extra)) {
		if err := add(name, 0o644, nil, strings.NewReader(string(opts.extra[name]))); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return names, nil
}

func sameFile(a, b string) bool {
	if b == "" {
		return false
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// funcignore is a .funcignore: gitignore-like patterns, one a line.
// Supported: blank lines and # comments, a trailing / for directories
// only, a leading / (or any / inside) to anchor the pattern at the app's
// root, and path.Match wildcards. A pattern without / matches a name at
// any depth. Negation (!) is not supported and such lines are ignored.
type funcignore []ignoreRule

type ignoreRule struct {
	pattern string
	dirOnly bool
	rooted  bool
}

func readFuncignore(p string) (funcignore, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var rules funcignore
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "!") {
			continue
		}
		var r ignoreRule
		if s, ok := strings.CutSuffix(line, "/"); ok {
			line, r.dirOnly = s, true
		}
		if s, ok := strings.CutPrefix(line, "/"); ok {
			line, r.rooted = s, true
		}
		if strings.Contains(line, "/") {
			r.rooted = true
		}
		if _, err := path.Match(line, ""); err != nil || line == "" {
			continue
		}
		r.pattern = line
		rules = append(rules, r)
	}
	return rules, nil
}

// match reports whether the slash path name (relative to the app's root)
// is ignored.
func (f funcignore) match(name string, dir bool) bool {
	for _, r := range f {
		if r.dirOnly && !dir {
			continue
		}
		subject := path.Base(name)
		if r.rooted {
			subject = name
		}
		if ok, _ := path.Match(r.pattern, subject); ok {
			return true
		}
	}
	return false
}
