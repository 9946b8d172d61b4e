package platform

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/substrate"
)

// Default ports, as ARCHITECTURE.md fixes them.
const (
	DefaultManagementPort = 7070
	DefaultBlobPort       = 10000
	DefaultQueuePort      = 10001
	DefaultFunctionsPort  = 7071
	DefaultEventGridPort  = 7072
	DefaultCosmosPort     = 8081
)

// Config is everything `lapis start` takes. Every default is in Defaults.
type Config struct {
	DataDir      string
	Listen       string
	Sync         substrate.SyncMode
	SyncInterval time.Duration
	NATSURL      string
	// SubscriptionID overrides the generated default subscription.
	SubscriptionID string
	// Cluster makes the embedded NATS server a node of a cluster of Lapis
	// nodes; nil keeps it private to the process.
	Cluster *substrate.Cluster
	// Replicas of streams and buckets (0: 1 alone, up to 3 in a cluster).
	Replicas int
	Ports    Ports
	Logger   *slog.Logger
	// ShutdownTimeout bounds how long in-flight requests may take to drain.
	ShutdownTimeout time.Duration
}

// Ports are the listening ports; 0 picks a free one, and a negative port
// turns the service off (`lapis func start` runs its own functions host).
type Ports struct {
	Management int
	Blob       int
	Queue      int
	Functions  int
	EventGrid  int
	Cosmos     int
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{
		DataDir:         ".lapis",
		Listen:          "127.0.0.1",
		Sync:            substrate.SyncInterval,
		SyncInterval:    time.Second,
		Ports:           Ports{Management: DefaultManagementPort, Blob: DefaultBlobPort, Queue: DefaultQueuePort, Functions: DefaultFunctionsPort, EventGrid: DefaultEventGridPort, Cosmos: DefaultCosmosPort},
		ShutdownTimeout: 30 * time.Second,
	}
}

// ErrLocked is returned when another server holds the data directory.
var ErrLocked = errors.New("data directory locked")

// Files in the data directory.
const (
	adminKeyFile     = "admin.key"
	subscriptionFile = "subscription"
	nodeFile         = "node"
	serverInfoFile   = "server.json"
)

// ServerInfo is what a running server writes to server.json so that the CLI
// on the same machine can find it.
type ServerInfo struct {
	PID          int               `json:"pid"`
	Version      string            `json:"version"`
	Management   string            `json:"management"`
	Subscription string            `json:"subscription"`
	Tenant       string            `json:"tenant"`
	Endpoints    map[string]string `json:"endpoints"`
	Started      time.Time         `json:"started"`
}

// ReadServerInfo reads a data directory's server.json.
func ReadServerInfo(dataDir string) (*ServerInfo, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, serverInfoFile))
	if err != nil {
		return nil, err
	}
	var si ServerInfo
	if err := json.Unmarshal(b, &si); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dataDir, serverInfoFile), err)
	}
	return &si, nil
}

// ReadAdminKey reads a data directory's admin key.
func ReadAdminKey(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, adminKeyFile))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readOrCreate returns the trimmed contents of dir/name, writing gen() there
// first if the file does not exist.
func readOrCreate(dir, name string, gen func() string) (string, error) {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	v := gen()
	if err := writeFileAtomic(path, []byte(v+"\n"), 0o600); err != nil {
		return "", err
	}
	return v, nil
}

// writeFileAtomic writes via a temporary file and a rename, so readers never
// see half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func newAdminKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("platform: no randomness: " + err.Error())
	}
	return "lapis_" + hex.EncodeToString(b)
}

func newSubscriptionID() string { return uuid.NewString() }

func newNodeName() string { return "lapis-" + uuid.NewString()[:8] }

// CurrentPointer is the file, in the user's config directory, that names
// the data directory of the server started last, so that the CLI finds it
// from any working directory.
func CurrentPointer() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "lapis", "current"), nil
}
