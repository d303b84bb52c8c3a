package preflight

import (
	"context"
	"fmt"
)

// Supported server majors; the integration tests run on TestedMajor.
const (
	MinMajor    = 14
	MaxMajor    = 17
	TestedMajor = 15
)

// serverFacts are the settings and counters several checks need, read in
// one round trip.
type serverFacts struct {
	sslOn         bool
	sessionSSL    bool
	versionNum    int
	version       string
	inRecovery    bool
	walLevel      string
	maxSlots      int
	usedSlots     int
	inactiveSlots int
	maxSenders    int
	usedSenders   int
	slotKeepSize  string
	database      string
}

const factsQuery = `
SELECT current_setting('ssl') = 'on',
       COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false),
       current_setting('server_version_num')::int, current_setting('server_version'),
       pg_is_in_recovery(), current_setting('wal_level'),
       current_setting('max_replication_slots')::int,
       (SELECT count(*) FROM pg_replication_slots)::int,
       (SELECT count(*) FROM pg_replication_slots WHERE NOT active)::int,
       current_setting('max_wal_senders')::int,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender')::int,
       COALESCE(current_setting('max_slot_wal_keep_size', true), ''),
       current_database()`

func (r *runner) readFacts(ctx context.Context) error {
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	f := &r.facts
	err := r.conn.QueryRow(pctx, factsQuery).Scan(&f.sslOn, &f.sessionSSL, &f.versionNum, &f.version,
		&f.inRecovery, &f.walLevel, &f.maxSlots, &f.usedSlots, &f.inactiveSlots, &f.maxSenders, &f.usedSenders,
		&f.slotKeepSize, &f.database)
	if err != nil {
		return fmt.Errorf("read server settings: %w", err)
	}
	return nil
}

func (r *runner) checkSSL() {
	f := r.facts
	switch {
	case !f.sslOn:
		r.set(CheckSSL, StatusFail, "the server has ssl = off",
			"set ssl = on with ssl_cert_file and ssl_key_file in postgresql.conf, then reload (SELECT pg_reload_conf();)")
	case !f.sessionSSL:
		r.set(CheckSSL, StatusFail, fmt.Sprintf("the server has ssl on, but this session is not encrypted (sslmode=%s)", r.src.SSLMode),
			"use sslmode=require (or verify-full with sslrootcert) in the URL")
	default:
		r.set(CheckSSL, StatusPass, fmt.Sprintf("ssl on; this session is encrypted (sslmode=%s)", r.src.SSLMode), "")
	}
}

func (r *runner) checkServerVersion() {
	f := r.facts
	major := f.versionNum / 10000
	support := fmt.Sprintf("supported: %d to %d; tested on %d", MinMajor, MaxMajor, TestedMajor)
	switch {
	case major < MinMajor:
		r.set(CheckServerVersion, StatusFail, fmt.Sprintf("PostgreSQL %s is too old (%s)", f.version, support),
			fmt.Sprintf("upgrade to PostgreSQL %d or later", MinMajor))
	case major > MaxMajor:
		r.set(CheckServerVersion, StatusWarn, fmt.Sprintf("PostgreSQL %s is newer than Ardent has been tested with (%s)", f.version, support),
			"expect it to work; report anything unusual")
	default:
		r.set(CheckServerVersion, StatusPass, fmt.Sprintf("PostgreSQL %s (%s)", f.version, support), "")
	}
}

func (r *runner) checkIsWriter() {
	if r.facts.inRecovery {
		r.set(CheckIsWriter, StatusFail, "the URL points at a read replica; use the writable primary",
			"point --source at the primary (pg_is_in_recovery() must return false)")
		return
	}
	r.set(CheckIsWriter, StatusPass, "the server is the writable primary", "")
}

func (r *runner) checkWalLevel() {
	if r.facts.walLevel != "logical" {
		r.set(CheckWalLevel, StatusFail, fmt.Sprintf("wal_level is %s; logical decoding needs logical", r.facts.walLevel),
			"ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (a reload is not enough)")
		return
	}
	r.set(CheckWalLevel, StatusPass, "wal_level is logical", "")
}

func (r *runner) checkSlots() {
	f := r.facts
	free := f.maxSlots - f.usedSlots
	msg := fmt.Sprintf("%d of max_replication_slots = %d in use (%d inactive), %d free; Ardent needs 1",
		f.usedSlots, f.maxSlots, f.inactiveSlots, free)
	if free < 1 {
		remedy := fmt.Sprintf("ALTER SYSTEM SET max_replication_slots = %d; then restart PostgreSQL", max(10, f.usedSlots+2))
		if f.inactiveSlots > 0 {
			remedy += "; or drop unused slots: SELECT slot_name FROM pg_replication_slots WHERE NOT active;"
		}
		r.set(CheckReplicationSlots, StatusFail, msg, remedy)
		return
	}
	r.set(CheckReplicationSlots, StatusPass, msg, "")
}

func (r *runner) checkWalSenders() {
	f := r.facts
	free := f.maxSenders - f.usedSenders
	msg := fmt.Sprintf("%d of max_wal_senders = %d in use, %d free; Ardent streams with 1 and may briefly need 2",
		f.usedSenders, f.maxSenders, free)
	remedy := fmt.Sprintf("ALTER SYSTEM SET max_wal_senders = %d; then restart PostgreSQL (never lower it below what standbys use)",
		max(10, f.usedSenders+2))
	switch {
	case free < 1:
		r.set(CheckWalSenders, StatusFail, msg, remedy)
	case free < 2:
		r.set(CheckWalSenders, StatusWarn, msg+" (initial snapshot, or a restart while the old sender times out)", remedy)
	default:
		r.set(CheckWalSenders, StatusPass, msg, "")
	}
}

// slotLostOutcome is what happens once a slot is invalidated, in the words
// of the README (Guarantees, 4): Ardent never takes a new snapshot by
// itself, since the changes the slot no longer holds are gone.
const slotLostOutcome = "the connector stops in stage failed (SlotLost) and never re-snapshots by itself; " +
	"`ardent drop NAME` and a new onboarding (a new snapshot) bring it back"

func (r *runner) checkWalRetention() {
	v := r.facts.slotKeepSize
	switch v {
	case "":
		r.set(CheckWalRetention, StatusWarn, "max_slot_wal_keep_size is not available on this server",
			"watch disk usage of pg_wal: a stalled slot retains WAL without limit")
	case "-1":
		r.set(CheckWalRetention, StatusWarn,
			"max_slot_wal_keep_size = -1: a stalled replication slot retains WAL until the disk is full",
			"bound it below the free space of the WAL volume, e.g.: ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; SELECT pg_reload_conf(); "+
				"(a slot that falls further behind is invalidated: "+slotLostOutcome+")")
	default:
		r.set(CheckWalRetention, StatusPass,
			fmt.Sprintf("max_slot_wal_keep_size = %s bounds WAL kept for a stalled slot (a slot that falls further behind is invalidated: %s)",
				v, slotLostOutcome), "")
	}
}
