package blobbinding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/expr"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
)

// Type names and defaults.
const (
	TriggerType = "blobTrigger"
	BlobType    = "blob"
	// DefaultConnection is the app setting a binding without "connection" uses.
	DefaultConnection = "AzureWebJobsStorage"
	// PoisonQueue is where a blob goes after its last failed attempt.
	PoisonQueue = "webjobs-blobtrigger-poison"
	// DefaultPoisonBlobThreshold is host.json extensions.blobs.poisonBlobThreshold's default: the attempts per
	// blob version.
	DefaultPoisonBlobThreshold = 5

	SourceLogsAndContainerScan = "LogsAndContainerScan"
	SourceEventGrid            = "EventGrid"

	DataTypeString = "string"
	DataTypeBinary = "binary" // also what "stream" means here
)

// TriggerConfig is a blobTrigger binding's parsed properties.
type TriggerConfig struct {
	Path       string        // as written, e.g. "images/{name}"
	Container  string        // the container part, always literal
	Pattern    *expr.Pattern // the whole path as a pattern; nil when Path is just a container (every blob matches)
	Connection string        // the app setting naming the storage connection; DefaultConnection when absent
	Source     string        // SourceLogsAndContainerScan (default) or SourceEventGrid
	DataType   string        // DataTypeString (default) or DataTypeBinary ("stream" too)
}

// Match reports whether the blob container/name is one the trigger fires for, and the pattern's values.
func (c *TriggerConfig) Match(container, name string) (map[string]string, bool) {
	if container != c.Container || name == "" {
		return nil, false
	}
	if c.Pattern == nil {
		return map[string]string{}, true
	}
	return c.Pattern.Match(container + "/" + name)
}

// Prefix is the name prefix every blob the trigger fires for has (for listing).
func (c *TriggerConfig) Prefix() string {
	if c.Pattern == nil {
		return ""
	}
	return strings.TrimPrefix(c.Pattern.Prefix(), c.Container+"/")
}

// BlobConfig is a blob input or output binding's parsed properties.
type BlobConfig struct {
	Path       *expr.Template // "container/blob", with binding expressions
	Connection string
	DataType   string // DataTypeString (default) or DataTypeBinary
}

// ParseTriggerConfig reads and validates a blobTrigger binding. Errors are *binding.PropertyError, joined.
func ParseTriggerConfig(b *appconfig.Binding) (*TriggerConfig, error) {
	c := &TriggerConfig{Connection: DefaultConnection, Source: SourceLogsAndContainerScan}
	var errs []error
	path, err := stringProp(b, "path", true, `a container and blob name pattern such as "images/{name}"`)
	if err != nil {
		errs = append(errs, err)
	} else if err := c.parsePath(path); err != nil {
		errs = append(errs, err)
	}
	if err := parseCommon(b, &c.Connection, &c.DataType); err != nil {
		errs = append(errs, err)
	}
	if s, err := stringProp(b, "source", false, "LogsAndContainerScan or EventGrid"); err != nil {
		errs = append(errs, err)
	} else if s != "" {
		switch {
		case strings.EqualFold(s, SourceLogsAndContainerScan):
			c.Source = SourceLogsAndContainerScan
		case strings.EqualFold(s, SourceEventGrid):
			c.Source = SourceEventGrid
		default:
			errs = append(errs, binding.OneOf("source", s, SourceLogsAndContainerScan, SourceEventGrid))
		}
	}
	return c, errors.Join(errs...)
}

// parsePath checks a trigger path as Azure's BlobPathSource does: "container" or "container/pattern", with no
// expression in the container part.
func (c *TriggerConfig) parsePath(path string) error {
	c.Path = path
	container, blobPart, hasBlob := strings.Cut(path, "/")
	switch {
	case strings.Contains(container, "{") || strings.Contains(container, "}"):
		return &binding.PropertyError{Property: "path", Msg: fmt.Sprintf("%q: the container part cannot contain binding expressions (a blob trigger watches one container); write e.g. \"images/{name}\"", path)}
	case hasBlob && blobPart == "", strings.Contains(container, `\`):
		return &binding.PropertyError{Property: "path", Msg: fmt.Sprintf("%q must be in the format \"container/blob\" (a blob name pattern after the '/'), or just \"container\"", path)}
	}
	if msg := containerNameProblem(container); msg != "" {
		return &binding.PropertyError{Property: "path", Msg: fmt.Sprintf("%q: %s", path, msg)}
	}
	c.Container = container
	if !hasBlob {
		return nil
	}
	p, err := expr.ParsePattern(path)
	if err != nil {
		return &binding.PropertyError{Property: "path", Msg: err.Error()}
	}
	if lit, ok := p.Template().Literal(); ok && len(lit)-len(container)-1 > 1024 {
		return &binding.PropertyError{Property: "path", Msg: fmt.Sprintf("%q: a blob name has at most 1024 characters", truncate(path, 80))}
	}
	c.Pattern = p
	return nil
}

// ParseBlobConfig reads and validates a blob input or output binding.
func ParseBlobConfig(b *appconfig.Binding) (*BlobConfig, error) {
	c := &BlobConfig{Connection: DefaultConnection}
	var errs []error
	path, err := stringProp(b, "path", true, `a container and blob name such as "output/{name}"`)
	if err != nil {
		errs = append(errs, err)
	} else if c.Path, err = parseBlobPath(path); err != nil {
		errs = append(errs, err)
	}
	if err := parseCommon(b, &c.Connection, &c.DataType); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

func parseBlobPath(path string) (*expr.Template, error) {
	t, err := expr.Parse(path)
	if err != nil {
		return nil, &binding.PropertyError{Property: "path", Msg: err.Error()}
	}
	if whole := strings.TrimSpace(path); strings.HasPrefix(whole, "{") && strings.HasSuffix(whole, "}") && strings.Count(whole, "{") == 1 {
		return t, nil // one expression, e.g. {data.url}: a container/blob path or a blob URL at run time
	}
	container, blobPart, ok := strings.Cut(path, "/")
	if !ok || container == "" || blobPart == "" {
		return nil, &binding.PropertyError{Property: "path", Msg: fmt.Sprintf("%q must be in the format \"container/blob\"", path)}
	}
	if !strings.ContainsAny(container, "{}") {
		if msg := containerNameProblem(container); msg != "" {
			return nil, &binding.PropertyError{Property: "path", Msg: fmt.Sprintf("%q: %s", path, msg)}
		}
	}
	return t, nil
}

// parseCommon reads connection and dataType.
func parseCommon(b *appconfig.Binding, conn, dataType *string) error {
	var errs []error
	if s, err := stringProp(b, "connection", false, "the name of the app setting that holds the storage connection string"); err != nil {
		errs = append(errs, err)
	} else if s = strings.TrimSpace(s); s != "" {
		*conn = s
	}
	dt := b.DataType
	if dt == "" {
		// appconfig keeps dataType out of Properties; read it from the raw binding in case it was not parsed.
		var raw struct {
			DataType *string `json:"dataType"`
		}
		if json.Unmarshal(b.Raw, &raw) == nil && raw.DataType != nil {
			dt = *raw.DataType
		}
	}
	switch strings.ToLower(dt) {
	case "", DataTypeString:
		*dataType = DataTypeString
	case DataTypeBinary, "stream":
		// A custom handler cannot be given a stream: the content travels in the JSON payload, as for binary.
		*dataType = DataTypeBinary
	default:
		errs = append(errs, binding.OneOf("dataType", dt, DataTypeString, DataTypeBinary, "stream"))
	}
	return errors.Join(errs...)
}

// stringProp reads a string property; what describes the expected value for messages.
func stringProp(b *appconfig.Binding, name string, required bool, what string) (string, error) {
	raw, ok := b.Property(name)
	if !ok || string(raw) == "null" {
		if required {
			return "", &binding.PropertyError{Property: name, Msg: "is missing; it must be " + what}
		}
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", &binding.PropertyError{Property: name, Msg: fmt.Sprintf("%s is not a string; it must be %s", truncate(string(raw), 60), what)}
	}
	if required && strings.TrimSpace(s) == "" {
		return "", &binding.PropertyError{Property: name, Msg: "is empty; it must be " + what}
	}
	return s, nil
}

// containerNameProblem returns what is wrong with a container name, or "": 3 to 63 lower-case letters, digits
// and single hyphens, starting and ending with a letter or digit ($root, $logs and $web are allowed).
func containerNameProblem(name string) string {
	switch name {
	case "$root", "$logs", "$web":
		return ""
	case "":
		return "the container name is empty"
	}
	if len(name) < 3 || len(name) > 63 {
		return fmt.Sprintf("the container name %q must have 3 to 63 characters", truncate(name, 70))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 || name[i-1] == '-' {
				return fmt.Sprintf("the container name %q must start and end with a letter or digit and cannot have two hyphens in a row", name)
			}
		case c >= 'A' && c <= 'Z':
			return fmt.Sprintf("the container name %q must be lower case", name)
		default:
			return fmt.Sprintf("the container name %q may only have lower-case letters, digits and hyphens", name)
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ConnectionString returns the connection string a binding's connection names: the app setting of that name or,
// as Azure allows, "AzureWebJobs" + that name.
func ConnectionString(settings appconfig.Lookup, connection string) (string, error) {
	if connection == "" {
		connection = DefaultConnection
	}
	names := []string{connection}
	if !strings.HasPrefix(strings.ToLower(connection), "azurewebjobs") {
		names = append(names, "AzureWebJobs"+connection)
	}
	for _, n := range names {
		if v, ok := settings(n); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), nil
		}
	}
	for _, suffix := range []string{"__blobServiceUri", "__serviceUri", "__accountName"} {
		if _, ok := settings(connection + suffix); ok {
			return "", fmt.Errorf("connection %q: identity-based connections (%s%s) are not supported by Lapis; set the app setting %s to a connection string",
				connection, connection, suffix, connection)
		}
	}
	return "", fmt.Errorf("connection: the app setting %q is not set; it must hold a storage connection string (for example UseDevelopmentStorage=true)", connection)
}

// account returns the storage account a binding's connection reaches.
func account(ctx context.Context, fn *binding.Function, connection, what string) (storageclient.Account, error) {
	if fn.Env == nil || fn.Env.Storage == nil {
		return nil, fmt.Errorf("%s needs Blob storage, which this app was not given (run it on the Lapis platform or with `lapis func start`)", what)
	}
	cs, err := ConnectionString(fn.Settings, connection)
	if err != nil {
		return nil, err
	}
	a, err := fn.Env.Storage.Account(ctx, cs)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", connection, err)
	}
	return a, nil
}

// hostOptions are host.json extensions.blobs.
type hostOptions struct {
	MaxDegreeOfParallelism int // default 8 × CPUs
	PoisonBlobThreshold    int // default 5
}

func blobOptions(fn *binding.Function) (hostOptions, error) {
	o := hostOptions{MaxDegreeOfParallelism: 8 * runtime.NumCPU(), PoisonBlobThreshold: DefaultPoisonBlobThreshold}
	if fn.Host == nil {
		return o, nil
	}
	raw, ok := fn.Host.Extension("blobs")
	if !ok {
		return o, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return o, fmt.Errorf("host.json: extensions.blobs must be an object")
	}
	for k, v := range m {
		var n int
		switch {
		case strings.EqualFold(k, "maxDegreeOfParallelism"):
			if json.Unmarshal(v, &n) != nil || n < 1 {
				return o, fmt.Errorf("host.json: extensions.blobs.maxDegreeOfParallelism: %s is not allowed; use an integer of at least 1", v)
			}
			o.MaxDegreeOfParallelism = n
		case strings.EqualFold(k, "poisonBlobThreshold"):
			if json.Unmarshal(v, &n) != nil || n < 1 {
				return o, fmt.Errorf("host.json: extensions.blobs.poisonBlobThreshold: %s is not allowed; use an integer of at least 1", v)
			}
			o.PoisonBlobThreshold = n
		}
	}
	return o, nil
}
