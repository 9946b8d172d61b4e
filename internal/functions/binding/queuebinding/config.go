package queuebinding

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/expr"
	"github.com/lapisdev/lapis/internal/functions/storageclient"
)

// Type names, and Azure's defaults.
const (
	TriggerType = "queueTrigger"
	OutputType  = "queue"
	// DefaultConnection is the app setting a binding without "connection" uses.
	DefaultConnection = "AzureWebJobsStorage"
	// PoisonSuffix makes the poison queue's name: "{queueName}-poison".
	PoisonSuffix = "-poison"
)

// Config is a queueTrigger's or queue output's parsed properties.
type Config struct {
	QueueName  string // as written (after appconfig resolved %AppSetting% references it could)
	Connection string // the app setting that holds the connection string; DefaultConnection when absent
}

// ParseConfig reads and checks a queue binding's properties. A literal queueName is lowercased and checked
// against Azure's queue name rules, as the WebJobs SDK does (NormalizeAndValidate); one with %AppSetting%
// references is checked when the function starts, and an output's {binding expressions} are parsed here and
// evaluated for each write. A trigger's queueName may not hold binding expressions.
func ParseConfig(b *appconfig.Binding, trigger bool) (Config, error) {
	c := Config{Connection: DefaultConnection}
	var errs []error
	raw, ok := b.Property("queueName")
	switch {
	case !ok || string(raw) == "null":
		errs = append(errs, &binding.PropertyError{Property: "queueName", Msg: "is required: the name of the queue, e.g. \"orders\""})
	case json.Unmarshal(raw, &c.QueueName) != nil:
		errs = append(errs, &binding.PropertyError{Property: "queueName", Msg: fmt.Sprintf("%s is not a string (a queue name such as \"orders\")", raw)})
	case strings.TrimSpace(c.QueueName) == "":
		errs = append(errs, &binding.PropertyError{Property: "queueName", Msg: "must not be empty: the name of the queue, e.g. \"orders\""})
	case trigger && strings.ContainsAny(c.QueueName, "{}"):
		errs = append(errs, &binding.PropertyError{Property: "queueName", Msg: fmt.Sprintf("%q: a trigger's queue name cannot use binding expressions ({...}); use a literal name or an %%AppSetting%% reference", c.QueueName)})
	case strings.ContainsAny(c.QueueName, "{}"):
		if _, err := expr.Parse(c.QueueName); err != nil {
			errs = append(errs, &binding.PropertyError{Property: "queueName", Msg: err.Error()})
		}
	case !strings.Contains(c.QueueName, "%"):
		if _, err := NormalizeQueueName(c.QueueName); err != nil {
			errs = append(errs, &binding.PropertyError{Property: "queueName", Msg: err.Error()})
		}
	}
	if raw, ok := b.Property("connection"); ok && string(raw) != "null" {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			errs = append(errs, &binding.PropertyError{Property: "connection", Msg: fmt.Sprintf("%s is not a string: it names the app setting that holds the storage connection string", raw)})
		} else if strings.TrimSpace(s) != "" {
			c.Connection = strings.TrimSpace(s)
		}
	}
	return c, errors.Join(errs...)
}

// NormalizeQueueName lowercases name and checks Azure's queue name rules: 3 to 63 characters, letters, digits and
// single hyphens, starting and ending with a letter or digit.
func NormalizeQueueName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if len(n) < 3 || len(n) > 63 {
		return "", fmt.Errorf("%q is not a valid queue name: it must have 3 to 63 characters", name)
	}
	ok := alnum(n[0]) && alnum(n[len(n)-1]) && !strings.Contains(n, "--")
	for i := 0; ok && i < len(n); i++ {
		ok = alnum(n[i]) || n[i] == '-'
	}
	if !ok {
		return "", fmt.Errorf("%q is not a valid queue name: use letters, digits and single hyphens, starting and ending with a letter or digit", name)
	}
	return n, nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// resolveName resolves %AppSetting% references in a queue name, then normalizes it.
func resolveName(name string, lookup appconfig.Lookup) (string, error) {
	v, err := appconfig.ResolveSettings(name, lookup)
	if err != nil {
		return "", fmt.Errorf("queueName: %w", err)
	}
	n, err := NormalizeQueueName(v)
	if err != nil {
		return "", fmt.Errorf("queueName: %w", err)
	}
	return n, nil
}

// ConnectionString returns the connection string a binding's connection names: the app setting of that name, or
// (as Azure allows) "AzureWebJobs" + that name. Identity-based connections (NAME__queueServiceUri, ...) are not
// supported and say so.
func ConnectionString(settings appconfig.Lookup, connection string) (string, error) {
	if connection == "" {
		connection = DefaultConnection
	}
	for _, n := range []string{connection, "AzureWebJobs" + connection} {
		if n != connection && strings.HasPrefix(strings.ToLower(connection), "azurewebjobs") {
			break
		}
		if v, ok := settings(n); ok && strings.TrimSpace(v) != "" {
			return v, nil
		}
	}
	for _, suffix := range []string{"__queueServiceUri", "__serviceUri", "__accountName", "__blobServiceUri"} {
		if _, ok := settings(connection + suffix); ok {
			return "", fmt.Errorf("connection %q: identity-based connections (%s%s) are not supported by Lapis; set the app setting %s to a connection string",
				connection, connection, suffix, connection)
		}
	}
	return "", fmt.Errorf("connection: the app setting %q is not set; it must hold a storage connection string (for example UseDevelopmentStorage=true)", connection)
}

// defaultProvider serves functions run without the platform (Env.Storage nil): everything over REST.
var defaultProvider = sync.OnceValue(func() storageclient.Provider { return storageclient.NewREST(storageclient.RESTOptions{}) })

func provider(env *binding.Env) storageclient.Provider {
	if env != nil && env.Storage != nil {
		return env.Storage
	}
	return defaultProvider()
}

// queueOptions returns host.json extensions.queues, with Azure's defaults when the app has no host.json.
func queueOptions(fn *binding.Function) appconfig.QueueOptions {
	if fn.Host != nil {
		return fn.Host.Queues
	}
	return appconfig.DefaultHostConfig().Queues
}
