package substrate

import (
	"fmt"
	"strings"
)

// Token turns an arbitrary string into a single NATS subject token that is
// also a valid key-value key: ASCII letters, digits, '-' and '_' are kept,
// every other byte becomes "=XX" (upper-case hex), and the empty string
// becomes "=". The mapping is reversible with [ParseToken] and keeps case.
func Token(s string) string {
	if s == "" {
		return "="
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isPlain(c) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "=%02X", c)
	}
	return b.String()
}

// ParseToken reverses [Token].
func ParseToken(t string) (string, error) {
	if t == "=" {
		return "", nil
	}
	var b strings.Builder
	b.Grow(len(t))
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case isPlain(c):
			b.WriteByte(c)
		case c == '=' && i+2 < len(t) && isHex(t[i+1]) && isHex(t[i+2]):
			b.WriteByte(unhex(t[i+1])<<4 | unhex(t[i+2]))
			i += 2
		default:
			return "", fmt.Errorf("substrate: invalid token %q at byte %d", t, i)
		}
	}
	return b.String(), nil
}

func isPlain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

// Subject names a subject in a service's namespace: "lapis.<service>.<t1>.<t2>...".
// Each token is passed through [Token] unless it is the wildcard "*" or ">".
func Subject(service string, tokens ...string) string {
	var b strings.Builder
	b.WriteString("lapis.")
	b.WriteString(service)
	for _, t := range tokens {
		b.WriteByte('.')
		if t == "*" || t == ">" {
			b.WriteString(t)
		} else {
			b.WriteString(Token(t))
		}
	}
	return b.String()
}

// StreamName names a service's stream: "LAPIS_<SERVICE>_<NAME>".
func StreamName(service, name string) string {
	return "LAPIS_" + strings.ToUpper(service) + "_" + strings.ToUpper(name)
}

// BucketName names a service's key-value bucket or object store: "lapis-<service>-<name>".
func BucketName(service, name string) string {
	return "lapis-" + service + "-" + name
}

// EventsStream is the stream that holds every system event (resource writes
// and deletes, blob changes, ...) for Event Grid and triggers to route.
const EventsStream = "LAPIS_EVENTS"

// eventsPrefix is the subject prefix of [EventsStream].
const eventsPrefix = "lapis.events"

// EventSubject names the subject of a system event of the given kind (for
// example "resources" or "storage") raised on the topic resource with the ARM
// id topicID. The id's path segments become lower-cased tokens, so a consumer
// can take all events under a subscription or a resource group with a
// wildcard: EventSubject("resources", "/subscriptions/s") + ".>".
func EventSubject(kind, topicID string) string {
	var b strings.Builder
	b.WriteString(eventsPrefix)
	b.WriteByte('.')
	b.WriteString(Token(kind))
	for _, seg := range strings.Split(strings.Trim(topicID, "/"), "/") {
		if seg == "" {
			continue
		}
		b.WriteByte('.')
		b.WriteString(Token(strings.ToLower(seg)))
	}
	return b.String()
}
