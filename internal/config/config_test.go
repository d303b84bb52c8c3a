package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

func TestLoadPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ardent.yaml")
	require.NoError(t, os.WriteFile(file, []byte("task_queue: from-file\ntemporal_namespace: ns-file\negress_ip: 192.0.2.1\n"), 0o600))

	tests := []struct {
		name      string
		env       map[string]string
		flags     []string
		file      string
		wantQueue string
		wantNS    string
		wantIP    string
	}{
		{name: "defaults", wantQueue: "ardent", wantNS: "default"},
		{name: "file over defaults", file: file, wantQueue: "from-file", wantNS: "ns-file", wantIP: "192.0.2.1"},
		{name: "env over file", file: file, env: map[string]string{"ARDENT_TASK_QUEUE": "from-env"}, wantQueue: "from-env", wantNS: "ns-file", wantIP: "192.0.2.1"},
		{name: "flag over env", file: file, env: map[string]string{"ARDENT_TASK_QUEUE": "from-env"}, flags: []string{"--task-queue=from-flag"}, wantQueue: "from-flag", wantNS: "ns-file", wantIP: "192.0.2.1"},
		{name: "env-only key without file", env: map[string]string{"ARDENT_EGRESS_IP": "198.51.100.7"}, wantQueue: "ardent", wantNS: "default", wantIP: "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
			fs.String("task-queue", "", "")
			require.NoError(t, fs.Parse(tt.flags))
			c, err := Load(fs, tt.file)
			require.NoError(t, err)
			require.Equal(t, tt.wantQueue, c.TaskQueue)
			require.Equal(t, tt.wantNS, c.TemporalNamespace)
			require.Equal(t, tt.wantIP, c.EgressIP)
		})
	}
}

func TestLoadListsAndDurationsFromEnv(t *testing.T) {
	t.Setenv("ARDENT_OLD_MASTER_KEYS", "a, b,,c")
	t.Setenv("ARDENT_PREFLIGHT_BACKOFF_INITIAL", "2s")
	t.Setenv("ARDENT_VERIFY_INTERVAL", "-1s")
	c, err := Load(nil, "")
	require.NoError(t, err)
	require.Equal(t, -time.Second, c.VerifyInterval)
	require.Equal(t, []string{"a", "b", "c"}, c.OldMasterKeys)
	require.Equal(t, 2*time.Second, c.PreflightBackoffInitial)
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(nil, filepath.Join(t.TempDir(), "nope.yaml"))
	require.ErrorContains(t, err, "read config file")
}

func TestValidateWorker(t *testing.T) {
	ok := Defaults()
	ok.CatalogURL = "postgres://x@127.0.0.1/db"
	ok.MasterKey = "k"
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{name: "valid", mutate: func(*Config) {}},
		{name: "no key", mutate: func(c *Config) { c.MasterKey = "" }, wantErr: "no master key"},
		{name: "two keys", mutate: func(c *Config) { c.MasterKeyFile = "/k" }, wantErr: "exactly one"},
		{name: "no catalog", mutate: func(c *Config) { c.CatalogURL = "" }, wantErr: "ARDENT_CATALOG_URL"},
		{name: "bad address", mutate: func(c *Config) { c.TemporalAddress = "nohostport" }, wantErr: "not host:port"},
		{name: "bad backoff", mutate: func(c *Config) { c.PreflightBackoffMax = time.Second }, wantErr: "preflight backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.ValidateWorker()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
