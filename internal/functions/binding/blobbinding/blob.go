package blobbinding

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/expr"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
)

// Blob is the "blob" binding type: an input (the blob's content before the invocation) or an output (a blob
// written after it).
type Blob struct{}

var (
	_ binding.Input  = Blob{}
	_ binding.Output = Blob{}
)

// Name implements binding.Type.
func (Blob) Name() string { return BlobType }

// Directions implements binding.Type. "inout" is not offered: custom handlers cannot stream a blob.
func (Blob) Directions() []appconfig.Direction {
	return []appconfig.Direction{appconfig.In, appconfig.Out}
}

// Validate implements binding.Type.
func (Blob) Validate(b *appconfig.Binding) error { _, err := ParseBlobConfig(b); return err }

// Read implements binding.Input: the blob at the evaluated path, as a JSON string (text, or base64 for dataType
// binary), or null when it does not exist.
func (Blob) Read(ctx context.Context, fn *binding.Function, b *appconfig.Binding, inv *binding.Invocation) (json.RawMessage, error) {
	cfg, err := ParseBlobConfig(b)
	if err != nil {
		return nil, err
	}
	container, name, err := resolvePath(fn, cfg, inv)
	if err != nil {
		return nil, err
	}
	acct, err := account(ctx, fn, cfg.Connection, "the blob input "+b.Name)
	if err != nil {
		return nil, err
	}
	data, _, err := acct.ReadBlob(ctx, container, name)
	if errors.Is(err, storageclient.ErrNotFound) {
		return json.RawMessage("null"), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading blob %s/%s: %w", container, name, err)
	}
	return content(data, cfg.DataType), nil
}

// Write implements binding.Output: value becomes the blob at the evaluated path (a string as its UTF-8 text, or
// for dataType binary its base64-decoded bytes when it is base64; any other JSON as written). The container is
// created if need be. null writes nothing.
func (Blob) Write(ctx context.Context, fn *binding.Function, b *appconfig.Binding, inv *binding.Invocation, value json.RawMessage) error {
	cfg, err := ParseBlobConfig(b)
	if err != nil {
		return err
	}
	data, skip, err := outputBytes(value, cfg.DataType)
	if err != nil || skip {
		return err
	}
	container, name, err := resolvePath(fn, cfg, inv)
	if err != nil {
		return err
	}
	acct, err := account(ctx, fn, cfg.Connection, "the blob output "+b.Name)
	if err != nil {
		return err
	}
	return writeBlob(ctx, acct, container, name, data)
}

// created remembers containers this process has created (or found), by account and name.
var created sync.Map

func writeBlob(ctx context.Context, acct storageclient.Account, container, name string, data []byte) error {
	key := acct.Name() + "/" + container
	if _, ok := created.Load(key); !ok {
		if err := acct.CreateContainer(ctx, container); err != nil {
			return fmt.Errorf("creating container %s: %w", container, err)
		}
		created.Store(key, true)
	}
	err := acct.WriteBlob(ctx, container, name, data, "")
	if err != nil && errors.Is(err, storageclient.ErrNotFound) {
		// The container was deleted since: create it again.
		if cerr := acct.CreateContainer(ctx, container); cerr == nil {
			err = acct.WriteBlob(ctx, container, name, data, "")
		}
	}
	if err != nil {
		return fmt.Errorf("writing blob %s/%s: %w", container, name, err)
	}
	return nil
}

// content is a blob's content as the JSON a worker gets: a string, or base64 for dataType binary. Bytes that are
// not UTF-8 become U+FFFD in a string, as .NET decodes them.
func content(data []byte, dataType string) json.RawMessage {
	var s string
	if dataType == DataTypeBinary {
		s = base64.StdEncoding.EncodeToString(data)
	} else {
		s = strings.ToValidUTF8(string(data), "\uFFFD")
	}
	raw, _ := json.Marshal(s)
	return raw
}

// outputBytes is what an output value writes; skip is set for null.
func outputBytes(value json.RawMessage, dataType string) (data []byte, skip bool, err error) {
	v := bytes.TrimSpace(value)
	if len(v) == 0 || string(v) == "null" {
		return nil, true, nil
	}
	if v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, false, fmt.Errorf("the value is not valid JSON: %w", err)
		}
		if dataType == DataTypeBinary {
			// Bytes travel in base64; a string that is not base64 is written as its text (as the Go SDK reads
			// an input).
			if b, err := base64.StdEncoding.DecodeString(s); err == nil {
				return b, false, nil
			}
		}
		return []byte(s), false, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return nil, false, fmt.Errorf("the value is not valid JSON: %w", err)
	}
	return buf.Bytes(), false, nil
}

// resolvePath evaluates a binding's path for an invocation and splits it into container and blob name.
func resolvePath(fn *binding.Function, cfg *BlobConfig, inv *binding.Invocation) (string, string, error) {
	p, err := cfg.Path.Evaluate(Context(fn, inv))
	if err != nil {
		return "", "", err
	}
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		// A blob's URL, as an Event Grid trigger's {data.url} gives it.
		if p, err = urlPath(p); err != nil {
			return "", "", fmt.Errorf("path %q: %w", cfg.Path, err)
		}
	}
	container, name, _ := strings.Cut(p, "/")
	if msg := containerNameProblem(container); msg != "" {
		return "", "", fmt.Errorf("path %q is %q: %s", cfg.Path, p, msg)
	}
	if name == "" {
		return "", "", fmt.Errorf("path %q is %q, which has no blob name after the container", cfg.Path, p)
	}
	if len(name) > 1024 {
		return "", "", fmt.Errorf("path %q gives a blob name of %d characters; the most is 1024", cfg.Path, len(name))
	}
	return container, name, nil
}

// urlPath turns a blob URL into "container/blob": the path of
// https://{account}.blob.core.windows.net/{container}/{blob}, or, for a
// path-style URL (an IP address or localhost host, as Lapis and Azurite
// serve), the path after the account segment.
func urlPath(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("not a blob URL: %w", err)
	}
	p := strings.TrimPrefix(u.Path, "/")
	host := u.Hostname()
	if net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") {
		_, rest, ok := strings.Cut(p, "/")
		if !ok {
			return "", fmt.Errorf("blob URL %q has no container after the account", raw)
		}
		p = rest
	}
	return p, nil
}

// Context is the binding-expression context of an invocation: its trigger metadata, its trigger value (whose
// JSON properties are names too) and "sys". The host adds "sys" to the payload it sends, not to inv; when inv
// has none, sys.UtcNow is now and sys.RandGuid a new GUID for this evaluation.
func Context(fn *binding.Function, inv *binding.Invocation) *expr.Context {
	c := &expr.Context{Sys: expr.Sys{MethodName: fn.Name()}}
	if fn.Env != nil && fn.Env.Clock != nil {
		c.Now = fn.Env.Clock
	}
	c.Sys.UtcNow = fn.Env.Now()
	if inv == nil {
		return c
	}
	c.Metadata = inv.Metadata
	if fn.TriggerIx >= 0 && fn.TriggerIx < len(fn.Def.Bindings) {
		c.Value = lookupData(inv.Data, fn.Def.Bindings[fn.TriggerIx].Name)
	}
	return c
}

func lookupData(m map[string]json.RawMessage, name string) json.RawMessage {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}
