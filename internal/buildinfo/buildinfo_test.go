package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestString(t *testing.T) {
	defer func(v string, r func() (*debug.BuildInfo, bool)) { Version, read = v, r }(Version, read)
	info := func(version string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{GoVersion: "go1.26", Main: debug.Module{Path: "github.com/ardent-cdc/ardent", Version: version}}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	tests := []struct {
		name, version string
		read          func() (*debug.BuildInfo, bool)
		want          string
	}{
		{"set by make build", "v1.4.0-3-gabc1234", info("(devel)"), "v1.4.0-3-gabc1234"},
		{"go install at a version", "", info("v1.4.0"), "v1.4.0"},
		{"checkout pseudo-version", "", info("v0.0.0-20261201225735-57e8ea9d1a2b+dirty"), "v0.0.0-20261201225735-57e8ea9d1a2b+dirty"},
		{"devel with VCS stamps", "", info("(devel)", "vcs.revision", "57e8ea9d1a2b3c4d", "vcs.time", "2026-12-01T22:57:35Z", "vcs.modified", "true"),
			"devel 57e8ea9d1a2b 2026-12-01T22:57:35Z+dirty"},
		{"nothing recorded", "", info("(devel)"), "unknown"},
		{"no build info", "", func() (*debug.BuildInfo, bool) { return nil, false }, "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			Version, read = tc.version, tc.read
			if got := String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
		})
	}
	Version, read = "v9", info("(devel)")
	if got := Line("ardent"); got != "ardent v9 (go1.26)" {
		t.Fatalf("Line = %q", got)
	}
}
