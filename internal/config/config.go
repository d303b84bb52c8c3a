package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/ardent-cdc/ardent/contract"
)

// Config is everything the binaries read. Keys are the mapstructure tags;
// the environment variable of a key is ARDENT_ + upper-case key.
type Config struct {
	TemporalAddress   string `mapstructure:"temporal_address"`
	TemporalNamespace string `mapstructure:"temporal_namespace"`
	TaskQueue         string `mapstructure:"task_queue"`
	CatalogURL        string `mapstructure:"catalog_url"`
	MasterKey         string `mapstructure:"master_key"`
	MasterKeyFile     string `mapstructure:"master_key_file"`
	// OldMasterKeys are previous keys, base64, comma separated in the
	// environment: still accepted to open what they sealed until
	// `ardent keys rotate` re-seals it.
	OldMasterKeys []string `mapstructure:"old_master_keys"`
	EgressIP      string   `mapstructure:"egress_ip"`
	HTTPAddress   string   `mapstructure:"http_address"`
	// CodecToken is the bearer token the Web UI presents to the codec endpoint.
	CodecToken       string   `mapstructure:"codec_token"`
	CodecCORSOrigins []string `mapstructure:"codec_cors_origins"`
	// CodecTokenFile holds the codec token (mode 0600), instead of
	// CodecToken: a value that shows in no environment listing.
	CodecTokenFile string `mapstructure:"codec_token_file"`
	// CodecPathToken also accepts the token as a path segment of the
	// codec endpoint, for the dev server's Web UI on a single-user laptop
	// only (the UI shows its codec endpoint to every user).
	CodecPathToken bool `mapstructure:"codec_path_token"`
	// CodecAccessTokens accepts a Web UI user's own access token
	// (TEMPORAL_CODEC_PASS_ACCESS_TOKEN) when the Temporal frontend accepts
	// it for the request's namespace.
	CodecAccessTokens bool `mapstructure:"codec_access_tokens"`
	// Pprof serves net/http/pprof on the worker's HTTP address, for
	// profiling a live worker. Off by default: it exposes internals.
	Pprof     bool   `mapstructure:"pprof"`
	LogLevel  string `mapstructure:"log_level"`
	LogFormat string `mapstructure:"log_format"`

	// Onboarding defaults (overridable per onboarding).
	PreflightBackoffInitial time.Duration `mapstructure:"preflight_backoff_initial"`
	PreflightBackoffMax     time.Duration `mapstructure:"preflight_backoff_max"`
	PreflightDeadline       time.Duration `mapstructure:"preflight_deadline"`
	// VerifyInterval is how often a new connector's replication workflow
	// verifies the destination against the source: 0 is the workflow's
	// default (contract.DefaultVerifyInterval), negative disables periodic
	// verification.
	VerifyInterval time.Duration `mapstructure:"verify_interval"`
	// DriftInterval is how often a new connector's replication workflow
	// re-runs the drift checks on its source: 0 is the workflow's default
	// (contract.DefaultDriftInterval), negative disables them.
	DriftInterval time.Duration `mapstructure:"drift_interval"`

	// Replication tuning.
	SnapshotParallelism int           `mapstructure:"snapshot_parallelism"`
	HeartbeatInterval   time.Duration `mapstructure:"heartbeat_interval"`
	IdleEmitInterval    time.Duration `mapstructure:"idle_emit_interval"`

	// SnapshotMaxConcurrent bounds the copies (initial snapshots and
	// backfills) this worker runs at once; the others wait in stage queued.
	// 0 or negative: no bound.
	SnapshotMaxConcurrent int `mapstructure:"snapshot_max_concurrent"`
	// SnapshotMaxPerSourceHost bounds the copies of one source host:port
	// across every worker sharing the catalog. 0 or negative: no bound.
	SnapshotMaxPerSourceHost int `mapstructure:"snapshot_max_per_source_host"`

	// SlotCheckInterval is how often the worker reads every live
	// connector's replication slot for the slot metrics; 0 or negative
	// turns the reading off.
	SlotCheckInterval time.Duration `mapstructure:"slot_check_interval"`
}

// Defaults are the values used when nothing else sets a key.
func Defaults() Config {
	return Config{
		TemporalAddress:         "localhost:7233",
		TemporalNamespace:       "default",
		TaskQueue:               contract.DefaultTaskQueue,
		HTTPAddress:             "127.0.0.1:9090",
		CodecCORSOrigins:        []string{"http://localhost:8233", "http://127.0.0.1:8233"},
		LogLevel:                "info",
		LogFormat:               "text",
		PreflightBackoffInitial: contract.DefaultBackoffInitial,
		PreflightBackoffMax:     contract.DefaultBackoffMax,
		PreflightDeadline:       contract.DefaultDeadline,
		// The SDK sends a heartbeat every 8 s at most (worker/main.go):
		// recording one more often only encodes and seals details that
		// are never sent.
		HeartbeatInterval: 8 * time.Second,
		// An idle stream's own logical message: every 30 s keeps an idle
		// slot moving (keepalives move it too whenever the cluster's WAL
		// does) at a third of the source round trips and destination
		// checkpoints of 10 s, per connector (bench fleet, issue 19).
		IdleEmitInterval:  30 * time.Second,
		SlotCheckInterval: 15 * time.Second,
		// One copy keeps two cores busy (parallel COPY sessions, the
		// destination's index builds); a second overlaps the first's
		// waits (slot creation waiting for running transactions, the
		// key build after the copy). More only share the same cores.
		SnapshotMaxConcurrent: 2,
		// A customer's primary serves its own traffic too: two full scans
		// at once, whatever the number of workers.
		SnapshotMaxPerSourceHost: 2,
	}
}

// Load reads the configuration: flags (only those already defined on fs
// whose names match a key with '_' replaced by '-') > environment > the YAML
// file named by file (optional) > defaults.
func Load(fs *pflag.FlagSet, file string) (Config, error) {
	v := viper.New()
	def := Defaults()
	setDefaults(v, def)
	v.SetEnvPrefix("ARDENT")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("read config file %s: %w", file, err)
		}
	}
	if fs != nil {
		for _, key := range keys() {
			if f := fs.Lookup(strings.ReplaceAll(key, "_", "-")); f != nil {
				if err := v.BindPFlag(key, f); err != nil {
					return Config{}, fmt.Errorf("bind flag %s: %w", f.Name, err)
				}
			}
		}
	}
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		return Config{}, fmt.Errorf("decode configuration: %w", err)
	}
	// Lists from the environment arrive as one comma-separated string.
	c.OldMasterKeys = splitList(c.OldMasterKeys)
	c.CodecCORSOrigins = splitList(c.CodecCORSOrigins)
	return c, nil
}

func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// setDefaults registers every key with viper, which is also what makes
// env-only keys visible to Unmarshal.
func setDefaults(v *viper.Viper, d Config) {
	v.SetDefault("temporal_address", d.TemporalAddress)
	v.SetDefault("temporal_namespace", d.TemporalNamespace)
	v.SetDefault("task_queue", d.TaskQueue)
	v.SetDefault("catalog_url", d.CatalogURL)
	v.SetDefault("master_key", d.MasterKey)
	v.SetDefault("master_key_file", d.MasterKeyFile)
	v.SetDefault("old_master_keys", d.OldMasterKeys)
	v.SetDefault("egress_ip", d.EgressIP)
	v.SetDefault("http_address", d.HTTPAddress)
	v.SetDefault("codec_token", d.CodecToken)
	v.SetDefault("codec_cors_origins", d.CodecCORSOrigins)
	v.SetDefault("codec_token_file", d.CodecTokenFile)
	v.SetDefault("codec_path_token", d.CodecPathToken)
	v.SetDefault("codec_access_tokens", d.CodecAccessTokens)
	v.SetDefault("drift_interval", d.DriftInterval)
	v.SetDefault("pprof", d.Pprof)
	v.SetDefault("log_level", d.LogLevel)
	v.SetDefault("log_format", d.LogFormat)
	v.SetDefault("preflight_backoff_initial", d.PreflightBackoffInitial)
	v.SetDefault("preflight_backoff_max", d.PreflightBackoffMax)
	v.SetDefault("preflight_deadline", d.PreflightDeadline)
	v.SetDefault("verify_interval", d.VerifyInterval)
	v.SetDefault("snapshot_parallelism", d.SnapshotParallelism)
	v.SetDefault("snapshot_max_concurrent", d.SnapshotMaxConcurrent)
	v.SetDefault("snapshot_max_per_source_host", d.SnapshotMaxPerSourceHost)
	v.SetDefault("heartbeat_interval", d.HeartbeatInterval)
	v.SetDefault("idle_emit_interval", d.IdleEmitInterval)
	v.SetDefault("slot_check_interval", d.SlotCheckInterval)
}

func keys() []string {
	return []string{"temporal_address", "temporal_namespace", "task_queue", "catalog_url",
		"master_key", "master_key_file", "old_master_keys", "egress_ip", "http_address",
		"codec_token", "codec_cors_origins", "codec_token_file", "codec_path_token", "codec_access_tokens", "drift_interval",
		"pprof", "log_level", "log_format",
		"preflight_backoff_initial", "preflight_backoff_max", "preflight_deadline", "verify_interval",
		"snapshot_parallelism", "snapshot_max_concurrent", "snapshot_max_per_source_host", "heartbeat_interval", "idle_emit_interval", "slot_check_interval"}
}

// ValidateClient checks what both binaries need to reach Temporal.
func (c Config) ValidateClient() error {
	var errs []error
	if c.TemporalAddress == "" {
		errs = append(errs, errors.New("temporal address is empty: set ARDENT_TEMPORAL_ADDRESS (default localhost:7233)"))
	} else if _, _, err := net.SplitHostPort(c.TemporalAddress); err != nil {
		errs = append(errs, fmt.Errorf("temporal address %q is not host:port: %w", c.TemporalAddress, err))
	}
	if c.TemporalNamespace == "" {
		errs = append(errs, errors.New("temporal namespace is empty: set ARDENT_TEMPORAL_NAMESPACE"))
	}
	if c.TaskQueue == "" {
		errs = append(errs, errors.New("task queue is empty: set ARDENT_TASK_QUEUE"))
	}
	return errors.Join(errs...)
}

// ValidateWorker checks what the worker needs on top of the client settings.
func (c Config) ValidateWorker() error {
	errs := []error{c.ValidateClient()}
	if c.CatalogURL == "" {
		errs = append(errs, errors.New("catalog URL is empty: set ARDENT_CATALOG_URL to Ardent's own PostgreSQL database"))
	}
	if c.MasterKey == "" && c.MasterKeyFile == "" {
		errs = append(errs, errors.New("no master key: set ARDENT_MASTER_KEY (base64 of 32 random bytes; `ardent keys generate` makes one) or ARDENT_MASTER_KEY_FILE; the worker refuses to store credentials unencrypted"))
	}
	if c.MasterKey != "" && c.MasterKeyFile != "" {
		errs = append(errs, errors.New("both ARDENT_MASTER_KEY and ARDENT_MASTER_KEY_FILE are set: set exactly one"))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddress); c.HTTPAddress != "" && err != nil {
		errs = append(errs, fmt.Errorf("http address %q is not host:port: %w", c.HTTPAddress, err))
	}
	if c.PreflightBackoffInitial <= 0 || c.PreflightBackoffMax < c.PreflightBackoffInitial {
		errs = append(errs, fmt.Errorf("preflight backoff %s..%s: initial must be > 0 and <= max", c.PreflightBackoffInitial, c.PreflightBackoffMax))
	}
	return errors.Join(errs...)
}
