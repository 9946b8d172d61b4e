package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/substrate"
)

// identity is what every node of one Lapis installation shares: the
// subscription it serves and the management API's admin key.
type identity struct {
	subscription string
	adminKey     string
}

// loadIdentity reads the installation's identity from the substrate, so
// that every node on one NATS (embedded cluster or --nats) serves the same
// subscription and accepts the same key. The first node to start creates
// it, from the data dir's files if they exist (servers that kept it there
// before) or freshly generated. An explicit --subscription-id replaces the
// stored one. The data dir keeps a copy for the CLI to read.
func loadIdentity(ctx context.Context, sub *substrate.Substrate, cfg Config, log *slog.Logger) (identity, error) {
	kv, err := sub.KeyValue(ctx, "platform", substrate.KVSpec{Name: "settings"})
	if err != nil {
		return identity{}, err
	}
	var id identity
	err = sub.Retry(ctx, func(ctx context.Context) (err error) {
		id.subscription, err = setting(ctx, kv, cfg.DataDir, subscriptionFile, cfg.SubscriptionID, newSubscriptionID, log)
		return err
	})
	if err != nil {
		return identity{}, fmt.Errorf("subscription id: %w", err)
	}
	err = sub.Retry(ctx, func(ctx context.Context) (err error) {
		id.adminKey, err = setting(ctx, kv, cfg.DataDir, adminKeyFile, "", newAdminKey, log)
		return err
	})
	if err != nil {
		return identity{}, fmt.Errorf("admin key: %w", err)
	}
	return id, nil
}

// setting resolves one shared setting: override, else the stored value,
// else the local file's or a new one, stored with create-if-absent so that
// two nodes starting together agree.
func setting(ctx context.Context, kv jetstream.KeyValue, dir, name, override string, gen func() string, log *slog.Logger) (string, error) {
	var val string
	e, err := kv.Get(ctx, name)
	switch {
	case err == nil:
		val = string(e.Value())
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return "", err
	}
	if override != "" && override != val {
		if val != "" {
			log.Warn("replacing a shared setting; what was made under the previous value stays stored but is not served",
				"setting", name, "previous", val, "now", override)
		}
		if _, err := kv.Put(ctx, name, []byte(override)); err != nil {
			return "", err
		}
		val = override
	}
	if val == "" {
		local, _ := os.ReadFile(filepath.Join(dir, name))
		candidate := strings.TrimSpace(string(local))
		if candidate == "" {
			candidate = gen()
		}
		_, err := kv.Create(ctx, name, []byte(candidate))
		switch {
		case err == nil:
			val = candidate
		case errors.Is(err, jetstream.ErrKeyExists): // another node won the create
			e, err := kv.Get(ctx, name)
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				return "", substrate.ErrNotYetVisible
			}
			if err != nil {
				return "", err
			}
			val = string(e.Value())
		default:
			return "", err
		}
	}
	if local, _ := os.ReadFile(filepath.Join(dir, name)); strings.TrimSpace(string(local)) != val {
		if err := writeFileAtomic(filepath.Join(dir, name), []byte(val+"\n"), 0o600); err != nil {
			return "", err
		}
	}
	return val, nil
}
