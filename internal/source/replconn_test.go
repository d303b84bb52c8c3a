package source

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgurl"
)

func TestReplicationConfig(t *testing.T) {
	for _, raw := range []string{"postgres://app:s3cret@db/shop", "host=db user=app password=s3cret dbname=shop"} {
		s, err := pgurl.ParseSource(raw)
		require.NoError(t, err)
		rc := ReplicationConfig(&s.Config.Config, "ardent-x")
		assert.Equal(t, "database", rc.RuntimeParams["replication"])
		assert.Equal(t, "ardent-x", rc.RuntimeParams["application_name"])
		assert.Equal(t, "ISO", rc.RuntimeParams["DateStyle"], "output settings on every replication connection")
		assert.Equal(t, "s3cret", rc.Password)
		assert.NotNil(t, rc.TLSConfig, "sslmode require must keep TLS")
		assert.NotContains(t, s.Config.RuntimeParams, "replication", "the parsed source is not changed")
	}
}
