package source

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
)

// System is what IDENTIFY_SYSTEM reports.
type System struct {
	// ID is the cluster's system identifier: with the database name it
	// identifies a source whatever URL reaches it.
	ID       uint64
	Timeline int32
	Database string
}

// IdentifySystem runs IDENTIFY_SYSTEM on conn, a replication connection
// (see ReplicationConfig).
func IdentifySystem(ctx context.Context, conn *pgconn.PgConn) (System, error) {
	id, err := pglogrepl.IdentifySystem(ctx, conn)
	if err != nil {
		return System{}, fmt.Errorf("IDENTIFY_SYSTEM: %w", err)
	}
	sysid, err := strconv.ParseUint(id.SystemID, 10, 64)
	if err != nil {
		return System{}, fmt.Errorf("IDENTIFY_SYSTEM: parse system identifier %q: %w", id.SystemID, err)
	}
	return System{ID: sysid, Timeline: id.Timeline, Database: id.DBName}, nil
}

// SystemIdentifier opens a replication connection with cfg, asks the
// system identifier and closes it.
func SystemIdentifier(ctx context.Context, cfg *pgconn.Config) (uint64, error) {
	conn, err := pgconn.ConnectConfig(ctx, ReplicationConfig(cfg, "ardent"))
	if err != nil {
		return 0, fmt.Errorf("open replication connection: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	s, err := IdentifySystem(ctx, conn)
	if err != nil {
		return 0, err
	}
	return s.ID, nil
}

// ServerMajor is the server's major version, from the server_version the
// server reported at connection start.
func ServerMajor(conn *pgconn.PgConn) (int, error) {
	return ParseMajor(conn.ParameterStatus("server_version"))
}

// ParseMajor reads the major version from server_version, e.g.
// "15.4 (Debian 15.4-1)" or "14beta1".
func ParseMajor(v string) (int, error) {
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	major, err := strconv.Atoi(v[:end])
	if err != nil {
		return 0, fmt.Errorf("parse server_version %q: %w", v, err)
	}
	return major, nil
}
