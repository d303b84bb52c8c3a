package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseByteRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{in: "20MB", want: 20_000_000},
		{in: "20mb/s", want: 20_000_000},
		{in: "512KiB", want: 512 << 10},
		{in: "1.5GB", want: 1_500_000_000},
		{in: "2GiB", want: 2 << 30},
		{in: "1000000", want: 1_000_000},
		{in: " 10 M ", want: 10_000_000},
		{in: "fast", err: "not a rate"},
		{in: "-5MB", err: "not a rate"},
		{in: "MB", err: "not a rate"},
		{in: "1KB", err: "below 64KiB"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseByteRate(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestDestinationFlagErrors: bad --target-schema / snapshot limits are
// usage errors (exit 2) before anything connects or starts.
func TestDestinationFlagErrors(t *testing.T) {
	src := "postgres://ardent@127.0.0.1:1/app"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"onboard prefix in the middle", []string{"onboard", "--name", "a", "--source", src, "--destination", src, "--target-schema", "a*b"}, "--target-schema"},
		{"onboard reserved", []string{"onboard", "--name", "a", "--source", src, "--destination", src, "--target-schema", "pg_x"}, "reserved"},
		{"onboard negative parallelism", []string{"onboard", "--name", "a", "--source", src, "--destination", src, "--snapshot-parallelism", "-1"}, "negative"},
		{"onboard bad rate", []string{"onboard", "--name", "a", "--source", src, "--destination", src, "--snapshot-max-rate", "lots"}, "--snapshot-max-rate"},
		{"preflight target without destination", []string{"preflight", "--source", src, "--target-schema", "wh"}, "need --destination"},
		{"preflight malformed destination", []string{"preflight", "--source", src, "--destination", "postgres://x:y@h:port/db"}, "--destination"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runSourceCLI(t, "", tc.args...)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tc.want)
		})
	}
}
