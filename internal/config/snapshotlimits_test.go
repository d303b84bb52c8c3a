package config

import (
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

func TestSnapshotLimits(t *testing.T) {
	for _, tc := range []struct {
		name            string
		env             map[string]string
		flags           []string
		worker, perHost int
	}{
		{name: "defaults", worker: 2, perHost: 2},
		{name: "environment", env: map[string]string{"ARDENT_SNAPSHOT_MAX_CONCURRENT": "5", "ARDENT_SNAPSHOT_MAX_PER_SOURCE_HOST": "1"}, worker: 5, perHost: 1},
		{name: "0 is kept (unlimited), not the default", env: map[string]string{"ARDENT_SNAPSHOT_MAX_CONCURRENT": "0", "ARDENT_SNAPSHOT_MAX_PER_SOURCE_HOST": "-1"}, worker: 0, perHost: -1},
		{name: "flags over environment", env: map[string]string{"ARDENT_SNAPSHOT_MAX_CONCURRENT": "5"},
			flags: []string{"--snapshot-max-concurrent=3", "--snapshot-max-per-source-host=4"}, worker: 3, perHost: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			fs.Int("snapshot-max-concurrent", 0, "")
			fs.Int("snapshot-max-per-source-host", 0, "")
			require.NoError(t, fs.Parse(tc.flags))
			c, err := Load(fs, "")
			require.NoError(t, err)
			require.Equal(t, tc.worker, c.SnapshotMaxConcurrent)
			require.Equal(t, tc.perHost, c.SnapshotMaxPerSourceHost)
		})
	}
}
