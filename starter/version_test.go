package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/buildinfo"
)

// `ardent --version` prints the build (set by `make build`) and needs no
// configuration at all.
func TestVersion(t *testing.T) {
	defer func(v string) { buildinfo.Version = v }(buildinfo.Version)
	buildinfo.Version = "v1.2.3-4-gabcdef0"
	var out bytes.Buffer
	c := newCLI(&out, &out)
	root := newRootCmd(c)
	root.SetOut(&out)
	root.SetArgs([]string{"--version"})
	require.NoError(t, root.Execute())
	require.Regexp(t, `^ardent v1\.2\.3-4-gabcdef0 \(go[0-9.]+\)\n$`, out.String())
}
