package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// raw sends a request whose body is not JSON or whose answer is a stream
// (zip deployments, the log stream), with no overall time limit: ctx
// bounds it. The caller closes the answer's body. An error answer
// becomes *apiError.
func (c *client) raw(ctx context.Context, method, path, apiVersion string, body io.Reader, size int64, contentType, accept string) (*http.Response, error) {
	u, err := url.Parse(c.endpoint + path)
	if err != nil {
		return nil, err
	}
	if apiVersion != "" {
		q := u.Query()
		q.Set("api-version", apiVersion)
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "lapis-cli")
	if c.debug != nil {
		fmt.Fprintf(c.debug, "DEBUG: Request URL: '%s'\nDEBUG: Request method: '%s'\n", u, method)
		if body != nil {
			fmt.Fprintf(c.debug, "DEBUG: Request body: %d bytes of %s\n", size, contentType)
		}
	}
	hc := *c.http
	hc.Timeout = 0
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot reach Lapis at %s: %w", c.endpoint, err)
	}
	if c.debug != nil {
		fmt.Fprintf(c.debug, "DEBUG: Response status: %d (%s)\n", resp.StatusCode, time.Since(start).Round(time.Microsecond))
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if c.debug != nil && len(rb) > 0 {
			fmt.Fprintf(c.debug, "DEBUG: Response content:\nDEBUG: %s\n", rb)
		}
		return nil, errorAnswer(resp.StatusCode, rb)
	}
	return resp, nil
}

// errorAnswer makes an *apiError of an error answer: ARM's
// {"error":{"code","message"}}, else the status and the body's text.
func errorAnswer(status int, body []byte) *apiError {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		return &apiError{Status: status, Code: e.Error.Code, Message: e.Error.Message}
	}
	return &apiError{Status: status, Code: http.StatusText(status), Message: strings.TrimSpace(string(body))}
}

// uploadBar shows an upload's progress on stderr: a bar redrawn in place
// when stderr is a terminal, else one "Uploaded N MB" line at the end.
type uploadBar struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	quiet bool
	total int64
	done  int64
	last  time.Time
}

func newUploadBar(g *globals, total int64) *uploadBar {
	b := &uploadBar{w: g.stderr, total: total, quiet: g.onlyErrors}
	if f, ok := g.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b.tty = true
	}
	return b
}

// megabytes formats a size as Core Tools does: "2.95 MB".
func megabytes(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/(1<<20)) }

func (b *uploadBar) add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += int64(n)
	if b.tty && !b.quiet && (time.Since(b.last) >= 100*time.Millisecond || b.done >= b.total) {
		b.last = time.Now()
		b.draw()
	}
}

func (b *uploadBar) draw() {
	const width = 30
	frac := float64(b.done) / float64(max(b.total, 1))
	frac = min(frac, 1)
	n := int(frac * width)
	fmt.Fprintf(b.w, "\rUploading %s [%s%s] %3.0f%%", megabytes(b.total), strings.Repeat("#", n), strings.Repeat(" ", width-n), frac*100)
}

// finish ends the bar's line; without a terminal it prints the plain
// line, when the upload was accepted.
func (b *uploadBar) finish(accepted bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.quiet:
	case b.tty && b.done > 0:
		b.draw()
		fmt.Fprintln(b.w)
	case !b.tty && accepted:
		fmt.Fprintf(b.w, "Uploaded %s\n", megabytes(b.done))
	}
}

// barReader counts what the HTTP client reads into the bar.
type barReader struct {
	r   io.Reader
	bar *uploadBar
}

func (r *barReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.bar.add(n)
	}
	return n, err
}

// deployment status codes, as Kudu's.
const (
	deployFailed  = 3
	deploySuccess = 4
)

// zipDeploy uploads the zip at path to the app and returns the deployment
// status object (the deployment resource's properties). A failed
// deployment is an error.
func zipDeploy(ctx context.Context, g *globals, c *client, site, path string) (map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("argument --src: %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, usagef("argument --src: %s is not a file", path)
	}
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || (!bytes.Equal(magic, []byte("PK\x03\x04")) && !bytes.Equal(magic, []byte("PK\x05\x06"))) {
		return nil, usagef("argument --src: %s is not a zip file", path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	bar := newUploadBar(g, fi.Size())
	resp, err := c.raw(ctx, http.MethodPost, site+"/extensions/zipdeploy", webAPI, &barReader{f, bar}, fi.Size(), "application/zip", "application/json")
	bar.finish(err == nil)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("the deployment did not finish within --timeout")
		}
		return nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the deployment's answer: %w", err)
	}
	if c.debug != nil && len(rb) > 0 {
		fmt.Fprintf(c.debug, "DEBUG: Response content:\nDEBUG: %s\n", rb)
	}
	var dep map[string]any
	if len(bytes.TrimSpace(rb)) > 0 {
		if err := json.Unmarshal(rb, &dep); err != nil {
			return nil, fmt.Errorf("decoding the deployment's answer: %w", err)
		}
	}
	status := deploymentStatus(dep)
	if st, ok := status["status"].(float64); ok && st == deployFailed {
		msg, _ := status["message"].(string)
		if msg == "" {
			msg = "the server gave no reason"
		}
		return status, &apiError{Code: "DeploymentFailed", Message: "Zip deployment failed: " + msg}
	}
	return status, nil
}

// deploymentStatus is the status object of a deployment resource: its
// properties (Kudu's shape, which az prints).
func deploymentStatus(dep map[string]any) map[string]any {
	if p, ok := dep["properties"].(map[string]any); ok {
		return p
	}
	return dep
}

func configZip(g *globals) *cobra.Command {
	var src, buildRemote string
	var timeout int
	cmd, ref := appCmd(g, "config-zip", "Deploy a zip of the app's files",
		"  lapis functionapp deployment source config-zip -g myapp-rg -n myfuncapp --src app.zip",
		func(cmd *cobra.Command, c *client, site string) error {
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(timeout)*time.Second)
				defer cancel()
			}
			if strings.EqualFold(buildRemote, "true") {
				g.warn("Lapis does not build on the server: --build-remote is ignored; deploy a built app (see lapis func publish).")
			}
			status, err := zipDeploy(ctx, g, c, site, src)
			if err != nil {
				return err
			}
			return g.print(status)
		})
	ref.required = append(ref.required, requiredFlag{&src, "--src"})
	ref.checks = append(ref.checks, func(*cobra.Command) error {
		if timeout < 0 {
			return usagef("argument --timeout: must not be negative")
		}
		return nil
	})
	cmd.Flags().StringVar(&src, "src", "", "the zip file to deploy")
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 0, "seconds to wait for the deployment (default: no limit)")
	cmd.Flags().StringVar(&buildRemote, "build-remote", "false", "accepted for az compatibility; Lapis deploys the zip as it is")
	return cmd
}

func logsTail(g *globals) *cobra.Command {
	cmd, _ := appCmd(g, "tail", "Stream a function app's logs until Ctrl-C",
		"  lapis functionapp logs tail -g myapp-rg -n myfuncapp",
		func(cmd *cobra.Command, c *client, site string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			resp, err := c.raw(ctx, http.MethodGet, site+"/logstream", webAPI, nil, 0, "", "text/plain")
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			defer resp.Body.Close()
			go func() { <-ctx.Done(); resp.Body.Close() }()
			if _, err := io.Copy(g.stdout, resp.Body); err != nil && ctx.Err() == nil {
				return fmt.Errorf("the log stream broke: %w", err)
			}
			return nil
		})
	return cmd
}

// usageTable is the -o table view of usage show: a row per function.
const usageTable = "functions[].{Name:name, Executions:executions, Successes:successes, Failures:failures, ColdStarts:coldStarts, P50Ms:durationMs.p50, P95Ms:durationMs.p95, P99Ms:durationMs.p99, GbSeconds:gbSeconds}"

func usageShow(g *globals) *cobra.Command {
	cmd, _ := appCmd(g, "show", "Show a function app's executions, latencies, cold starts and metered usage",
		"  lapis functionapp usage show -g myapp-rg -n myfuncapp -o table",
		func(cmd *cobra.Command, c *client, site string) error {
			var out map[string]any
			if err := c.do(cmd.Context(), http.MethodGet, site+"/usage", webAPI, nil, &out); err != nil {
				return err
			}
			return g.printTable(out, usageTable)
		})
	return cmd
}

// deploymentTable is the default table of deployments.
const deploymentTable = "{Name:name, Status:status, Active:active, Deployer:deployer, StartTime:start_time, Message:message}"

// deploymentOutput lifts a deployment's properties to the top level, as az prints deployments.
func deploymentOutput(d any) any {
	m, _ := d.(map[string]any)
	props, _ := m["properties"].(map[string]any)
	if props == nil {
		return d
	}
	out := map[string]any{}
	for k, v := range props {
		out[k] = v
	}
	out["id"], out["name"] = m["id"], m["name"]
	return out
}

func deploymentList(g *globals) *cobra.Command {
	cmd, _ := appCmd(g, "list", "List a function app's deployments, newest first",
		"  lapis functionapp deployment list -g myapp-rg -n myfuncapp -o table",
		func(cmd *cobra.Command, c *client, site string) error {
			items, err := c.list(cmd.Context(), site+"/deployments", webAPI)
			if err != nil {
				return err
			}
			out := make([]any, 0, len(items))
			for _, d := range items {
				out = append(out, deploymentOutput(d))
			}
			return g.printTable(out, "[]."+deploymentTable)
		})
	return cmd
}

func deploymentShow(g *globals) *cobra.Command {
	var id string
	cmd, ref := appCmd(g, "show", "Show one deployment of a function app",
		"  lapis functionapp deployment show -g myapp-rg -n myfuncapp --deployment-id 0192f...",
		func(cmd *cobra.Command, c *client, site string) error {
			var out any
			if err := c.do(cmd.Context(), http.MethodGet, site+"/deployments/"+url.PathEscape(id), webAPI, nil, &out); err != nil {
				return err
			}
			return g.printTable(deploymentOutput(out), deploymentTable)
		})
	ref.required = append(ref.required, requiredFlag{&id, "--deployment-id"})
	cmd.Flags().StringVar(&id, "deployment-id", "", "the deployment's id (its name in deployment list)")
	return cmd
}
