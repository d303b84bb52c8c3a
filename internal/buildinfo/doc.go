// Package buildinfo says which build of Ardent is running, for `ardent
// --version`, `ardent-worker --version` and the worker's first log line:
// an operator comparing a CLI with a worker, or reporting a bug, needs it.
//
// The version is Version when the build sets it (`make build` passes
// -ldflags "-X github.com/ardent-cdc/ardent/internal/buildinfo.Version=..."
// from `git describe`), else what the Go toolchain recorded: the module's
// version, or the VCS revision and time (with "+dirty" for a modified
// tree) of a `go build` in a checkout. It never imports Temporal.
package buildinfo
