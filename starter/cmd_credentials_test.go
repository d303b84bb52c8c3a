package main

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/secrets"
)

// Distinctive passwords, so a scan for them cannot match by accident.
const (
	credOld   = "Old-pw-4c1e-cred"
	credNew   = "New-pw-9a7b-cred"
	credWrong = "Wrong-pw-2d5f-cred"
)

func TestCredentialsSetUsageErrors(t *testing.T) {
	noPasswordEnv(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing to change", []string{"credentials", "set", "shop"}, "nothing to change"},
		{"no name", []string{"credentials", "set"}, "accepts 1 arg"},
		{"bad name", []string{"credentials", "set", "Shop!", "--source-password-file", "x"}, "name"},
		{"malformed source", []string{"credentials", "set", "shop", "--source", "postgres://u:" + cliPassword + "@h:port/db"}, "--source"},
		{"source without host", []string{"credentials", "set", "shop", "--source", "postgres://u@/db"}, "no host"},
		{"malformed destination", []string{"credentials", "set", "shop", "--destination", "host=h dbname=d user=u password=" + cliPassword + " port=x"}, "--destination"},
		{"stdin twice", []string{"credentials", "set", "shop", "--source-password-file", "-", "--destination-password-file", "-"}, "stdin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runSourceCLI(t, "", tc.args...)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

// credWorld is a source cluster with password authentication (role ardent,
// database app, and a database other), a destination database holding a
// connector's checkpoint, and a catalog with connector shop, as onboard
// leaves them.
type credWorld struct {
	src, dst *pgtest.Cluster
	cat      *catalog.Store
	kr       *secrets.Keyring
}

func newCredWorld(t *testing.T) *credWorld {
	t.Helper()
	noPasswordEnv(t)
	ctx := context.Background()
	w := &credWorld{src: pgtest.Start(t, pgtest.Options{PasswordAuth: true}), dst: pgtest.Start(t, pgtest.Options{PasswordAuth: true})}
	w.src.CreateDatabase(t, "app")
	w.src.CreateDatabase(t, "other")
	w.src.Exec(t, "postgres", `CREATE ROLE ardent LOGIN REPLICATION PASSWORD '`+credOld+`';
		CREATE ROLE plain LOGIN PASSWORD '`+credOld+`'`)
	w.dst.CreateDatabase(t, "catalog")
	w.dst.CreateDatabase(t, "copy")
	w.dst.CreateDatabase(t, "elsewhere")
	w.dst.Exec(t, "postgres", `CREATE ROLE writer LOGIN PASSWORD '`+credOld+`'; CREATE ROLE reader LOGIN PASSWORD '`+credOld+`'`)
	w.dst.Exec(t, "copy", `CREATE SCHEMA _ardent AUTHORIZATION writer;
		CREATE TABLE _ardent.applied_lsn (connector text PRIMARY KEY, lsn pg_lsn NOT NULL, updated_at timestamptz);
		ALTER TABLE _ardent.applied_lsn OWNER TO writer;
		INSERT INTO _ardent.applied_lsn VALUES ('shop', '0/16B3748', now());
		GRANT USAGE ON SCHEMA _ardent TO reader; GRANT SELECT ON _ardent.applied_lsn TO reader;`)
	var sysid string
	require.NoError(t, w.src.QueryRowContext(ctx, "app", `SELECT system_identifier::text FROM pg_control_system()`, &sysid))
	id, err := strconv.ParseUint(sysid, 10, 64)
	require.NoError(t, err)

	w.cat, err = catalog.Open(ctx, w.dst.URL("catalog"), nil)
	require.NoError(t, err)
	t.Cleanup(w.cat.Close)
	require.NoError(t, w.cat.Migrate(ctx))
	key, err := secrets.GenerateKey()
	require.NoError(t, err)
	w.kr, err = secrets.NewKeyring(key)
	require.NoError(t, err)
	require.NoError(t, w.cat.CreateConnector(ctx, catalog.Connector{Name: "shop", SystemIdentifier: id,
		SourceURL:      secrets.Secret(w.src.URLFor("ardent", credOld, "app")),
		DestinationURL: secrets.Secret(w.dst.URLFor("writer", credOld, "copy"))}, w.kr))
	t.Setenv("ARDENT_CATALOG_URL", w.dst.URL("catalog"))
	t.Setenv("ARDENT_MASTER_KEY", secrets.EncodeKey(key))
	t.Setenv("ARDENT_MASTER_KEY_FILE", "")
	t.Setenv("ARDENT_OLD_MASTER_KEYS", "")
	return w
}

// run runs the CLI in-process with the catalog of w and checks that no
// password, old, new or wrong, is in what it printed.
func (w *credWorld) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	catalogURL := os.Getenv("ARDENT_CATALOG_URL")
	var out, errOut strings.Builder
	c := newCLI(&out, &errOut)
	root := newRootCmd(c)
	root.SetIn(strings.NewReader(""))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if c.cat != nil {
		c.cat.Close()
	}
	require.Equal(t, catalogURL, os.Getenv("ARDENT_CATALOG_URL"))
	var ee *exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.code
		if ee.err != nil {
			errOut.WriteString(errorText(ee.err, args))
		}
	case isUsageError(err):
		code = 2
		errOut.WriteString(errorText(err, args))
	default:
		code = 1
		errOut.WriteString(errorText(err, args))
	}
	for _, pw := range []string{credOld, credNew, credWrong} {
		require.NotContains(t, out.String()+errOut.String(), pw)
	}
	return out.String(), errOut.String(), code
}

func (w *credWorld) stored(t *testing.T) (src, dst string, version int64) {
	t.Helper()
	ctx := context.Background()
	src, err := w.cat.SourceURL(ctx, "shop", w.kr)
	require.NoError(t, err)
	dst, err = w.cat.DestinationURL(ctx, "shop", w.kr)
	require.NoError(t, err)
	version, err = w.cat.CredentialsVersion(ctx, "shop")
	require.NoError(t, err)
	return src, dst, version
}

// TestCredentialsSet: a rotated password is taken from a file into the
// stored URL; a whole new URL or a password that does not work, another
// database, a standby of the source, a role without REPLICATION, a
// destination without this connector's checkpoint are refused with the
// reason and change nothing.
func TestCredentialsSet(t *testing.T) {
	w := newCredWorld(t)
	oldSrc, oldDst, v0 := w.stored(t)
	refused := func(t *testing.T, wantCode int, want string, args ...string) {
		t.Helper()
		_, stderr, code := w.run(t, append([]string{"credentials", "set"}, args...)...)
		assert.Equal(t, wantCode, code, stderr)
		assert.Contains(t, stderr, want)
		src, dst, v := w.stored(t)
		assert.Equal(t, oldSrc, src, "the source changed")
		assert.Equal(t, oldDst, dst, "the destination changed")
		assert.Equal(t, v0, v, "the version moved")
	}
	srcHost := net.JoinHostPort(w.src.Host, strconv.Itoa(w.src.Port))

	// Refused: nothing changes.
	wrong := writePasswordFile(t, credWrong+"\n", 0o600)
	refused(t, 1, "password authentication failed for ardent@"+srcHost+"/app", "shop", "--source-password-file", wrong)
	refused(t, 2, "chmod 600", "shop", "--source-password-file", writePasswordFile(t, credNew, 0o640))
	refused(t, 2, "is empty", "shop", "--source-password-file", writePasswordFile(t, "\n", 0o600))
	refused(t, 1, "is not the database connector shop replicates", "shop", "--source", w.src.URLFor("ardent", credOld, "other"))
	refused(t, 1, "REPLICATION", "shop", "--source", w.src.URLFor("plain", credOld, "app"))
	standby := w.src.StartStandby(t)
	refused(t, 1, "is a standby", "shop", "--source", standby.URLFor("ardent", credOld, "app"))
	refused(t, 1, "holds no checkpoint of connector shop", "shop", "--destination", w.dst.URLFor("writer", credOld, "elsewhere"))
	refused(t, 1, "may not update _ardent.applied_lsn", "shop", "--destination", w.dst.URLFor("reader", credOld, "copy"))
	refused(t, 1, "password authentication failed for writer@", "shop", "--destination", w.dst.URLFor("writer", credWrong, "copy"))
	refused(t, 1, `no connector named "nosuch"`, "nosuch", "--source-password-file", wrong)

	// The same credentials again: nothing to store.
	stdout, stderr, code := w.run(t, "credentials", "set", "shop", "--source-password-file", writePasswordFile(t, credOld, 0o600))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "already these")
	_, _, v := w.stored(t)
	assert.Equal(t, v0, v)

	// The operator rotated the password: the file's replaces the stored
	// one, the rest of the URL is kept.
	w.src.Exec(t, "postgres", `ALTER ROLE ardent PASSWORD '`+credNew+`'`)
	stdout, stderr, code = w.run(t, "credentials", "set", "shop", "--source-password-file", writePasswordFile(t, credNew, 0o600))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "source ardent@"+srcHost+"/app: password accepted, same database")
	assert.Contains(t, stdout, "credentials version 2")
	src, dst, v := w.stored(t)
	assert.Equal(t, v0+1, v)
	assert.Equal(t, oldDst, dst)
	assert.Equal(t, strings.Replace(oldSrc, credOld, credNew, 1), src)
	conn, err := pgx.Connect(context.Background(), src)
	require.NoError(t, err, "the stored URL logs in")
	conn.Close(context.Background())

	// A whole new destination URL whose password comes from PGPASSWORD.
	w.dst.Exec(t, "postgres", `ALTER ROLE writer PASSWORD '`+credNew+`'`)
	t.Setenv("PGPASSWORD", credNew)
	stdout, stderr, code = w.run(t, "credentials", "set", "shop", "--destination", w.dst.URLFor("writer", "", "copy")+"&application_name=ardent")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "holds the checkpoint of connector shop")
	_, dst, v = w.stored(t)
	assert.Equal(t, v0+2, v)
	d, err := pgurl.ParseDestination(dst)
	require.NoError(t, err)
	assert.Equal(t, credNew, d.Password(), "PGPASSWORD was written into the stored URL")
	assert.Equal(t, "ardent", d.Config.RuntimeParams["application_name"])

	// A dropped connector's credentials are not changed.
	require.NoError(t, w.cat.MarkDropped(context.Background(), "shop"))
	_, stderr, code = w.run(t, "credentials", "set", "shop", "--source-password-file", writePasswordFile(t, credNew, 0o600))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "was dropped")
}
