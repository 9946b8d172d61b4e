package fn

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// BlobInfo is a blob that triggered a function: its content from the
// payload's Data and its name, URI, properties, metadata and path
// parameters from the trigger metadata.
type BlobInfo struct {
	// Name is the blob's path, "container/blob" (Azure's BlobTrigger
	// value), for example "images/cat.png".
	Name string
	// URI is the blob's URL.
	URI string
	// Content is the blob's content.
	Content []byte
	// Properties are the blob's system properties.
	Properties BlobProperties
	// Metadata is the blob's user-defined metadata (x-ms-meta-*), or nil.
	Metadata map[string]string
	// Params holds the values of the trigger path's parameters: for the
	// path "images/{name}" and the blob images/cat.png, Params["name"] is
	// "cat.png". Binding expressions in other bindings ("thumbnails/{name}")
	// use the same values.
	Params map[string]string
}

// BlobProperties are a blob's system properties, as the trigger metadata's
// "Properties" carries them. A property the host did not send is zero.
type BlobProperties struct {
	// Length is the content's length in bytes.
	Length int64
	// ContentType is the blob's Content-Type.
	ContentType string
	// ContentEncoding is the blob's Content-Encoding.
	ContentEncoding string
	// ETag is the blob's entity tag.
	ETag string
	// LastModified is when the blob was last written, in UTC.
	LastModified time.Time
}

// BlobFunc is the signature of a blob-triggered function. A non-nil error
// fails the attempt; the host retries it, and after five failures it puts
// a message naming the blob on the "webjobs-blobtrigger-poison" queue.
type BlobFunc func(ctx *Context, blob BlobInfo) error

// Blob registers a function triggered by new and changed blobs whose path
// matches path (function.json type "blobTrigger", binding name "blob"):
// "container/pattern", where the pattern may hold parameters such as
// "images/{name}" or "input/{name}.{ext}", whose values reach the function
// in [BlobInfo].Params. The trigger's dataType is "binary" unless a
// [DataType] option says otherwise.
//
//	app.Blob("process_image", "images/{name}", func(ctx *fn.Context, blob fn.BlobInfo) error {
//		ctx.Logf("Processing blob: %s, size: %d bytes", blob.Name, blob.Properties.Length)
//		return nil
//	}, fn.Connection("AzureWebJobsStorage"))
//
// Options are [Connection], [DataType], [TriggerName] and bindings such
// as [BlobOutput], [BlobInput] and [QueueOutput]. It panics on an empty
// path, a nil handler or an invalid option.
func (a *App) Blob(name, path string, h BlobFunc, opts ...Option) {
	if h == nil {
		panic(fmt.Sprintf("fn: Blob(%q): nil handler", name))
	}
	if err := checkBlobPath(path); err != nil {
		panic(fmt.Sprintf("fn: Blob(%q): %v", name, err))
	}
	f := &function{name: name}
	f.handler = func(ctx *Context, inv *Invocation) (any, error) {
		b, err := decodeBlob(inv, f.trigger())
		if err != nil {
			return nil, &payloadError{err}
		}
		return nil, h(ctx, b)
	}
	a.mustRegister("Blob", f, Binding{Type: "blobTrigger", Name: "blob",
		Props: map[string]any{"path": path, "dataType": "binary"}}, opts)
}

// decodeBlob reads the blob under the trigger's name in Data and its
// properties from Metadata.
func decodeBlob(inv *Invocation, trigger *Binding) (BlobInfo, error) {
	var b BlobInfo
	raw, _ := lookupFold(inv.Data, trigger.Name)
	content, _, err := decodeContent(raw, dataTypeOf(trigger))
	if err != nil {
		return b, fmt.Errorf("blob %q: %w", trigger.Name, err)
	}
	b.Content = content
	md := inv.Metadata
	b.URI, _ = metaString(md, "Uri")

	pattern, _ := trigger.Props["path"].(string)
	names := pathParams(pattern)
	for _, n := range names {
		if v, ok := metaString(md, n); ok {
			if b.Params == nil {
				b.Params = map[string]string{}
			}
			b.Params[n] = v
		}
	}

	// The blob's path: BlobTrigger if the host sent it (Azure leaves it out
	// of Metadata, as the trigger value), else the pattern with the
	// parameters filled in, else the URL's path from the container on.
	b.Name, _ = metaString(md, "BlobTrigger")
	if b.Name == "" && len(names) > 0 && len(b.Params) == len(names) {
		b.Name = fillPath(pattern, b.Params)
	}
	if b.Name == "" {
		b.Name = nameFromURI(b.URI, pattern)
	}
	// Parameters the host did not send come from matching the name.
	if len(b.Params) < len(names) && b.Name != "" {
		for k, v := range matchPath(pattern, b.Name) {
			if _, ok := b.Params[k]; !ok {
				if b.Params == nil {
					b.Params = map[string]string{}
				}
				b.Params[k] = v
			}
		}
	}

	if props, ok := lookupFold(md, "Properties"); ok {
		if b.Properties, err = decodeBlobProperties(props); err != nil {
			return b, err
		}
	}
	if b.Properties.Length == 0 && len(b.Content) > 0 {
		b.Properties.Length = int64(len(b.Content))
	}
	if raw, ok := lookupFold(md, "Metadata"); ok {
		if obj, ok := asObject(raw); ok {
			b.Metadata = make(map[string]string, len(obj))
			for k, v := range obj {
				s, _ := jsonString(v)
				b.Metadata[k] = s
			}
		}
	}
	return b, nil
}

// decodeBlobProperties reads Azure's BlobProperties object. Both the older
// SDK's names ("Length", "ContentMD5") and the current one's
// ("ContentLength") are accepted, in any case; an ETag that is not a string
// (the current SDK's ETag struct) is left empty.
func decodeBlobProperties(raw json.RawMessage) (BlobProperties, error) {
	var p BlobProperties
	obj, ok := asObject(raw)
	if !ok {
		return p, nil
	}
	var err error
	if _, ok := lookupFold(obj, "ContentLength"); ok {
		p.Length, err = metaInt(obj, "ContentLength")
	} else {
		p.Length, err = metaInt(obj, "Length")
	}
	if err != nil {
		return p, fmt.Errorf("blob properties: %w", err)
	}
	p.ContentType, _ = metaString(obj, "ContentType")
	p.ContentEncoding, _ = metaString(obj, "ContentEncoding")
	p.ETag, _ = metaString(obj, "ETag")
	if p.LastModified, err = metaTime(obj, "LastModified"); err != nil {
		return p, fmt.Errorf("blob properties: %w", err)
	}
	return p, nil
}

var pathParamRE = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_-]*)\}`)

// pathParams returns the parameter names in a blob path pattern, in order.
func pathParams(pattern string) []string {
	var names []string
	for _, m := range pathParamRE.FindAllStringSubmatch(pattern, -1) {
		names = append(names, m[1])
	}
	return names
}

// fillPath replaces the parameters of pattern with their values.
func fillPath(pattern string, params map[string]string) string {
	return pathParamRE.ReplaceAllStringFunc(pattern, func(m string) string {
		return params[m[1:len(m)-1]]
	})
}

// matchPath matches a blob path against a pattern, each parameter taking
// as much as it can ("input/{name}.{ext}" splits "input/a.b.c" into
// name "a.b" and ext "c"). It returns nil if the path does not match.
func matchPath(pattern, path string) map[string]string {
	var re strings.Builder
	re.WriteString("^")
	last := 0
	var names []string
	for _, loc := range pathParamRE.FindAllStringSubmatchIndex(pattern, -1) {
		re.WriteString(regexp.QuoteMeta(pattern[last:loc[0]]))
		re.WriteString("(.+)")
		names = append(names, pattern[loc[2]:loc[3]])
		last = loc[1]
	}
	re.WriteString(regexp.QuoteMeta(pattern[last:]))
	re.WriteString("$")
	r, err := regexp.Compile(re.String())
	if err != nil {
		return nil
	}
	m := r.FindStringSubmatch(path)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(names))
	for i, n := range names {
		out[n] = m[i+1]
	}
	return out
}

// nameFromURI derives "container/blob" from a blob URL, finding the
// pattern's container among the URL's path segments (which in path-style
// URLs such as http://127.0.0.1:10000/devstoreaccount1/images/cat.png start
// with the account).
func nameFromURI(uri, pattern string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Path == "" {
		return ""
	}
	p := strings.TrimPrefix(u.Path, "/")
	container, _, _ := strings.Cut(pattern, "/")
	if container != "" && !strings.ContainsAny(container, "{%") {
		if strings.HasPrefix(p, container+"/") {
			return p
		}
		if i := strings.Index(p, "/"+container+"/"); i >= 0 {
			return p[i+1:]
		}
	}
	if h := u.Hostname(); h == "localhost" || net.ParseIP(h) != nil {
		// A path-style URL: the first segment is the account.
		if _, rest, ok := strings.Cut(p, "/"); ok {
			return rest
		}
	}
	return p
}
