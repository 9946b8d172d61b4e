package eventgridbinding

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
)

// APIVersion is the publish API's version, added to a topic endpoint that names none (as Azure's publisher
// clients do).
const APIVersion = "2018-01-01"

// Config is an eventGrid output's parsed properties.
type Config struct {
	// TopicEndpointURI names the app setting that holds the topic's endpoint URL. A value that is itself an
	// absolute URL (a %Setting% reference the host resolved when it loaded function.json) is used as the URL
	// when no app setting has that name.
	TopicEndpointURI string
	// TopicKeySetting names the app setting that holds one of the topic's access keys.
	TopicKeySetting string
}

// ParseConfig reads and checks an eventGrid output's properties: topicEndpointUri and topicKeySetting, both
// non-empty strings. Azure's identity-based "connection" is refused, since Lapis topics take keys only.
func ParseConfig(b *appconfig.Binding) (Config, error) {
	var c Config
	var errs []error
	if raw, ok := b.Property("connection"); ok && string(raw) != "null" {
		errs = append(errs, &binding.PropertyError{Property: "connection",
			Msg: "identity-based Event Grid connections are not supported by Lapis; set topicEndpointUri and topicKeySetting to the names of the app settings that hold the topic's endpoint and key"})
	}
	for _, p := range []struct {
		name, holds, example string
		dst                  *string
	}{
		{"topicEndpointUri", "the topic's endpoint URL", "MyTopicUriSetting", &c.TopicEndpointURI},
		{"topicKeySetting", "one of the topic's access keys", "MyTopicKeySetting", &c.TopicKeySetting},
	} {
		want := fmt.Sprintf("the name of the app setting that holds %s, e.g. %q", p.holds, p.example)
		raw, ok := b.Property(p.name)
		switch {
		case !ok || string(raw) == "null":
			errs = append(errs, &binding.PropertyError{Property: p.name, Msg: "is required: " + want})
		case json.Unmarshal(raw, p.dst) != nil:
			errs = append(errs, &binding.PropertyError{Property: p.name, Msg: fmt.Sprintf("%s is not a string: it is %s", raw, want)})
		case strings.TrimSpace(*p.dst) == "":
			errs = append(errs, &binding.PropertyError{Property: p.name, Msg: "must not be empty: it is " + want})
		default:
			*p.dst = strings.TrimSpace(*p.dst)
		}
	}
	return c, errors.Join(errs...)
}

// resolve reads the topic's endpoint and key from the app settings the config names. The endpoint gets
// api-version=APIVersion unless it has one.
func (c Config) resolve(settings appconfig.Lookup) (endpoint, key string, err error) {
	raw, ok := settings(c.TopicEndpointURI)
	if !ok || strings.TrimSpace(raw) == "" {
		if u, err := url.Parse(c.TopicEndpointURI); err != nil || !u.IsAbs() {
			return "", "", fmt.Errorf("topicEndpointUri: the app setting %q is not set; it must hold the topic's endpoint URL, e.g. http://mytopic.localhost:7072/api/events",
				c.TopicEndpointURI)
		}
		raw = c.TopicEndpointURI
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("topicEndpointUri: the app setting %q holds %q, which is not an absolute http or https URL", c.TopicEndpointURI, raw)
	}
	if q := u.Query(); q.Get("api-version") == "" {
		q.Set("api-version", APIVersion)
		u.RawQuery = q.Encode()
	}
	key, ok = settings(c.TopicKeySetting)
	if !ok || strings.TrimSpace(key) == "" {
		return "", "", fmt.Errorf("topicKeySetting: the app setting %q is not set; it must hold one of the topic's access keys", c.TopicKeySetting)
	}
	return u.String(), strings.TrimSpace(key), nil
}
