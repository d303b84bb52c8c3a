package pgtest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenderHBA(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"trust", Options{}, "host      all          all       127.0.0.1/32 trust"},
		{"password", Options{PasswordAuth: true}, "host      all          all       127.0.0.1/32 scram-sha-256"},
		{"ssl password", Options{SSL: true, PasswordAuth: true}, "hostssl   all          all       127.0.0.1/32 scram-sha-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hba := renderHBA(tt.opts)
			lines := strings.Split(strings.TrimSpace(hba), "\n")
			require.Equal(t, tt.want, lines[len(lines)-1], "ordinary roles come last")
			require.Contains(t, hba, "host      all          postgres  127.0.0.1/32 trust")
			require.Contains(t, hba, "host      replication  postgres  127.0.0.1/32 trust")
		})
	}
}

func TestRenderConfDefaults(t *testing.T) {
	conf := renderConf("/d", 5555, Options{ExtraConf: []string{"x = 1"}})
	for _, want := range []string{"port = 5555", "wal_level = logical", "max_wal_senders = 10",
		"max_replication_slots = 10", "unix_socket_directories = '/d'", "ssl = off", "fsync = off"} {
		require.Contains(t, conf, want)
	}
	require.True(t, strings.HasSuffix(conf, "x = 1\n"), "extra lines come last so they win")
}
