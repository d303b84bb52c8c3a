package pgurl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// old is a password that must vanish from the edited strings.
const old = "Old-pw-4c1e-cred"

func TestWithoutPassword(t *testing.T) {
	tests := []struct{ name, side, raw string }{
		{"url", SideSource, "postgres://ardent:" + old + "@db.internal:5432/app?sslmode=verify-full&application_name=x"},
		{"url query password", SideSource, "postgresql://ardent@db.internal/app?password=" + old + "&sslmode=require"},
		{"url escaped", SideDestination, "postgres://w%40x:" + "p%2Fw%3A" + old + "@dest:6000/copy"},
		{"dsn", SideDestination, "host=dest port=6000 dbname=copy user=writer password=" + old + " sslmode=disable"},
		{"dsn quoted first", SideSource, `password='` + old + ` it\'s \\ "q"' host=db dbname=app user=ardent`},
		{"dsn spaced", SideSource, "host = db  dbname=app user=ardent   password =\t" + old + "  connect_timeout=5"},
	}
	t.Setenv("PGPASSWORD", "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := Parse(tc.side, tc.raw)
			require.NoError(t, err)
			require.NotEmpty(t, before.Password())
			out, err := WithoutPassword(tc.raw)
			require.NoError(t, err)
			assert.NotContains(t, out, old)
			assert.False(t, HasPassword(out), out)
			after, err := Parse(tc.side, out)
			require.NoError(t, err)
			assert.Empty(t, after.Password())
			assert.Equal(t, before.Config.Host, after.Config.Host)
			assert.Equal(t, before.Config.Port, after.Config.Port)
			assert.Equal(t, before.Config.User, after.Config.User)
			assert.Equal(t, before.Config.Database, after.Config.Database)
			assert.Equal(t, before.SSLMode, after.SSLMode)
			assert.Equal(t, before.Config.RuntimeParams, after.Config.RuntimeParams)
		})
	}
	_, err := WithoutPassword("host=db password='unterminated")
	require.Error(t, err)
}

func TestWithPassword(t *testing.T) {
	t.Setenv("PGPASSWORD", "")
	for _, tc := range []struct{ name, side, raw, user string }{
		{"url", SideSource, "postgres://ardent@db.internal:5432/app?sslmode=verify-full", "ardent"},
		{"url without user info", SideDestination, "postgres://dest:6000/copy?user=writer", "writer"},
		{"dsn", SideSource, "host=db dbname=app user=ardent", "ardent"},
	} {
		for _, pw := range []string{"plain", `it's \ "q" @:/?#%`, " spaced "} {
			t.Run(tc.name+"/"+pw, func(t *testing.T) {
				require.False(t, HasPassword(tc.raw))
				out, err := WithPassword(tc.side, tc.raw, tc.user, pw)
				require.NoError(t, err)
				assert.True(t, HasPassword(out))
				c, err := Parse(tc.side, out)
				require.NoError(t, err)
				assert.Equal(t, pw, c.Password())
				assert.Equal(t, tc.user, c.Config.User)
			})
		}
	}
}
