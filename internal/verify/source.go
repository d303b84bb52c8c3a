package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/rowsum"
	"github.com/ardent-cdc/ardent/internal/snapshot"
	"github.com/ardent-cdc/ardent/internal/source"
)

// sourceSide is the source side of one attempt: a replication connection
// holding a temporary slot, and a read-only transaction in the snapshot
// the slot exported at its consistent point.
type sourceSide struct {
	repl *pgconn.PgConn
	conn *pgx.Conn
	tx   pgx.Tx
	lsn  pglogrepl.LSN
	snap string
}

// openSource connects twice (the read connection first, so the time from
// the consistent point to the hold is as short as it can be) and creates
// the temporary slot. importSnapshot must follow before repl runs anything
// else.
func openSource(ctx context.Context, cfg *pgx.ConnConfig, connector string) (*sourceSide, error) {
	s := &sourceSide{}
	ccfg := cfg.Copy()
	ccfg.RuntimeParams["application_name"] = "ardent-verify-" + connector
	var err error
	if s.conn, err = pgx.ConnectConfig(ctx, ccfg); err != nil {
		return nil, fmt.Errorf("connect to source: %w", redact(err))
	}
	if _, err := s.conn.Exec(ctx, rowsum.Settings); err != nil {
		s.close(ctx)
		return nil, fmt.Errorf("set up source session: %w", err)
	}
	if s.repl, err = pgconn.ConnectConfig(ctx, source.ReplicationConfig(&cfg.Config, "ardent-verify-"+connector)); err != nil {
		s.close(ctx)
		return nil, fmt.Errorf("open replication connection to source: %w", redact(err))
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, s.repl, slotName(), snapshot.OutputPlugin,
		pglogrepl.CreateReplicationSlotOptions{Temporary: true, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		s.close(ctx)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "53400" { // all replication slots are in use
			return nil, fmt.Errorf("create temporary slot: %w (%s)", ErrNoFreeSlot, pe.Message)
		}
		return nil, fmt.Errorf("create temporary slot on source: %w", err)
	}
	if s.lsn, err = pglogrepl.ParseLSN(res.ConsistentPoint); err != nil {
		s.close(ctx)
		return nil, fmt.Errorf("create temporary slot on source: consistent point: %w", err)
	}
	s.snap = res.SnapshotName
	return s, nil
}

// importSnapshot opens the read transaction in the slot's snapshot.
func (s *sourceSide) importSnapshot(ctx context.Context) error {
	var err error
	if s.tx, err = s.conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}); err != nil {
		return fmt.Errorf("begin source snapshot: %w", err)
	}
	if _, err := s.tx.Exec(ctx, "SET TRANSACTION SNAPSHOT "+quoteLiteral(s.snap)); err != nil {
		return fmt.Errorf("import source snapshot: %w", err)
	}
	return nil
}

// emitMarker writes a heartbeat message after the consistent point, which
// reaches the connector's apply after every transaction before it: an idle
// stream learns of the hold too. Running it ends the exported snapshot's
// life, so it comes after importSnapshot.
func (s *sourceSide) emitMarker(ctx context.Context, connector string) error {
	sql := fmt.Sprintf("SELECT pg_logical_emit_message(false, %s, %s)", quoteLiteral(replication.HeartbeatPrefix), quoteLiteral(connector))
	if _, err := s.repl.Exec(ctx, sql).ReadAll(); err != nil {
		return fmt.Errorf("emit verify marker on source: %w", err)
	}
	return nil
}

// dropSlot closes the replication connection: the server drops the
// temporary slot with it. The read transaction keeps its snapshot.
func (s *sourceSide) dropSlot(ctx context.Context) {
	if s.repl != nil {
		_ = s.repl.Close(ctx)
		s.repl = nil
	}
}

func (s *sourceSide) close(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	s.dropSlot(ctx)
	if s.tx != nil {
		_ = s.tx.Rollback(ctx)
	}
	if s.conn != nil {
		_ = s.conn.Close(ctx)
	}
}

// slotName is unique per attempt; letters, digits and underscores only.
func slotName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "ardent_verify_" + hex.EncodeToString(b[:])
}

// quoteLiteral quotes a string as an SQL literal (standard strings: only a
// single quote is special).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// redact keeps connection details pgconn puts into connect errors out.
func redact(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		return ce.Unwrap()
	}
	return err
}
