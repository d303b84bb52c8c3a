package buildinfo

import "runtime/debug"

// Version is set at link time by `make build`; empty otherwise.
var Version string

// read is debug.ReadBuildInfo, replaced by tests.
var read = debug.ReadBuildInfo

// String is the running build's version: Version, else the module version
// or the VCS revision the toolchain recorded, else "unknown".
func String() string {
	if Version != "" {
		return Version
	}
	bi, ok := read()
	if !ok {
		return "unknown"
	}
	// `go install module@version`, and since Go 1.24 a build in a checkout
	// too (a pseudo-version with the revision, "+dirty" when modified).
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	rev := settings["vcs.revision"]
	if rev == "" {
		return "unknown"
	}
	out := "devel " + rev[:min(len(rev), 12)]
	if t := settings["vcs.time"]; t != "" {
		out += " " + t
	}
	if settings["vcs.modified"] == "true" {
		out += "+dirty"
	}
	return out
}

// Line is the version line of a binary: "NAME VERSION (GOVERSION)".
func Line(name string) string {
	goVersion := "unknown go"
	if bi, ok := read(); ok {
		goVersion = bi.GoVersion
	}
	return name + " " + String() + " (" + goVersion + ")"
}
