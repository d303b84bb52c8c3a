package source

import "github.com/jackc/pgx/v5/pgconn"

// OutputSettings are the session settings of every replication connection.
// wal2json prints values with the walsender's session settings, which
// otherwise come from the source's postgresql.conf: a DateStyle of
// 'SQL, DMY' or an IntervalStyle of sql_standard is read back differently
// by the destination, extra_float_digits below 1 rounds floats, and
// bytea_output=escape is not hex.
var OutputSettings = map[string]string{
	"DateStyle":          "ISO",
	"IntervalStyle":      "postgres",
	"extra_float_digits": "3",
	"bytea_output":       "hex",
	"TimeZone":           "UTC",
}

// ReplicationConfig returns a copy of cfg that opens a logical
// replication-protocol session (replication=database) named appName, with
// OutputSettings.
func ReplicationConfig(cfg *pgconn.Config, appName string) *pgconn.Config {
	c := cfg.Copy()
	if c.RuntimeParams == nil {
		c.RuntimeParams = map[string]string{}
	}
	c.RuntimeParams["replication"] = "database"
	if appName != "" {
		c.RuntimeParams["application_name"] = appName
	}
	for k, v := range OutputSettings {
		c.RuntimeParams[k] = v
	}
	return c
}
