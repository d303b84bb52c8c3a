package workflows

import (
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// The Web UI shows a workflow's "current details" (Temporal user
// metadata, markdown): both workflows keep one document there, rewritten
// whenever what it shows changes: the stage, the error and what to do,
// progress (snapshot, backfill, the stream's position and lag, retries),
// the slot of a paused connector, the drift guard's findings, and the
// latest schema changes. SetCurrentDetails is no command: replay is
// unaffected. Strings are built without fmt (workflowcheck).

func (r *replication) publish(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, r.details())
}

func (o *onboarding) publish(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, o.details())
}

// details renders the replication workflow's document.
func (r *replication) details() string {
	st := r.status()
	var b strings.Builder
	header(&b, st)
	b.WriteString("\n**Progress**\n\n")
	n := b.Len()
	if st.Snapshot == nil {
		if q := st.Queued; q != nil {
			b.WriteString("- Initial snapshot queued since " + stamp(q.Since) + ": " + q.Why() + "\n")
		} else if p := r.ps.snapshot; p != nil {
			b.WriteString("- Initial snapshot: " + itoa(p.TablesDone) + " of " + itoa(p.Tables) + " tables, " + i64(p.Rows) + " rows")
			if p.EstimatedRows > 0 {
				b.WriteString(" of ~" + i64(p.EstimatedRows))
			}
			b.WriteString(", " + humanBytes(p.Bytes) + " (every minute; live: Pending Activities)\n")
		} else if st.Stage == contract.StageSnapshot {
			b.WriteString("- Initial snapshot running (live progress: Pending Activities, heartbeat details)\n")
		}
	} else {
		b.WriteString("- Snapshot: " + itoa(st.Snapshot.Tables) + " tables, " + i64(st.Snapshot.Rows) + " rows, consistent at `" +
			st.Snapshot.ConsistentLSN + "`\n")
	}
	if h := st.Stream; h != nil && !h.Running {
		if h.ConfirmedLSN != "" {
			b.WriteString("- No stream runs now; its last report: confirmed LSN `" + h.ConfirmedLSN + "`\n")
		}
	} else if h != nil {
		b.WriteString("- Stream: ")
		if h.Healthy {
			b.WriteString("healthy")
		} else {
			b.WriteString("**not applying** (reconnecting after: " + h.Error + ")")
		}
		if h.ConfirmedLSN != "" {
			b.WriteString("; confirmed LSN `" + h.ConfirmedLSN + "`")
		}
		b.WriteString("; lag " + humanBytes(h.LagBytes) + ", " + strconv.FormatFloat(h.LagSeconds, 'f', 1, 64) + " s")
		if !h.LastApplyAt.IsZero() {
			b.WriteString("; last apply " + stamp(h.LastApplyAt))
		}
		b.WriteString("\n")
	}
	if st.Stage == contract.StageRetrying || st.Attempt > 0 {
		b.WriteString("- Retrying:")
		if st.Attempt > 0 {
			b.WriteString(" attempt " + itoa(st.Attempt) + " of " + itoa(st.MaxAttempts) + " failed;")
		}
		if st.NextTryAt != nil {
			b.WriteString(" next try " + stamp(*st.NextTryAt) + ";")
		}
		if st.LastError != "" {
			b.WriteString(" last error: " + st.LastError)
		}
		b.WriteString("\n")
	}
	if t := st.Tables; t != nil {
		if t.Backfilling != "" {
			b.WriteString("- Backfilling `" + t.Backfilling + "`")
			if p := r.ps.backfill; p != nil && p.Table == t.Backfilling {
				if q := p.Queued; q != nil {
					b.WriteString(": queued since " + stamp(q.Since) + ", " + q.Why())
				} else {
					b.WriteString(": " + p.Phase + ", " + i64(p.Rows) + " rows")
					if p.EstimatedRows > 0 {
						b.WriteString(" of ~" + i64(p.EstimatedRows))
					}
				}
			}
			b.WriteString("\n")
		}
		if len(t.Queued) > 0 {
			b.WriteString("- Queued for a backfill: " + codeList(t.Queued) + "\n")
		}
	}
	if st.PausedSince != nil {
		b.WriteString("- Paused since " + stamp(*st.PausedSince) + "\n")
	}
	if d := st.Drift; d != nil && d.Slot != nil {
		s := d.Slot
		b.WriteString("- Slot (as of " + stamp(s.CheckedAt) + "): confirmed `" + s.ConfirmedLSN + "`, retains " + humanBytes(s.RetainedBytes) +
			" of WAL on the source, wal_status " + s.WALStatus)
		if s.SafeWALSize != nil {
			b.WriteString(", " + humanBytes(*s.SafeWALSize) + " more before invalidation")
		}
		b.WriteString("\n")
	}
	if b.Len() == n {
		b.WriteString("- nothing running\n")
	}
	if d := st.Drift; d != nil {
		b.WriteString("\n**Drift guard**")
		if d.CheckedAt != nil {
			b.WriteString(" (checked " + stamp(*d.CheckedAt))
			if d.NextAt != nil {
				b.WriteString(", next " + stamp(*d.NextAt))
			}
			b.WriteString(")")
		}
		b.WriteString("\n\n")
		if len(d.Problems) == 0 && d.CheckedAt != nil {
			b.WriteString("- every check passes\n")
		}
		for _, c := range d.Problems {
			b.WriteString("- **" + string(c.Status) + "** `" + c.ID + "`: " + c.Message)
			if c.Remedy != "" {
				b.WriteString(" — " + c.Remedy)
			}
			b.WriteString("\n")
		}
		if d.Error != "" {
			b.WriteString("- the last run could not check the source: " + d.Error + "\n")
		}
	}
	if v := st.Verify; v != nil && v.At != nil {
		b.WriteString("\n**Verification**: " + stamp(*v.At) + " at `" + v.LSN + "`: ")
		if v.Equal {
			b.WriteString("equal (" + itoa(v.Tables) + " tables)\n")
		} else {
			b.WriteString("**differs** in " + codeList(v.Different) + "\n")
		}
	}
	if len(r.schemaChanges) > 0 {
		b.WriteString("\n" + schemaDetails(r.schemaChanges))
	}
	return b.String()
}

// details renders the onboarding workflow's document.
func (o *onboarding) details() string {
	st := o.st
	var b strings.Builder
	header(&b, st)
	if st.HandedOffTo != "" {
		b.WriteString("\nHanded off: the replication workflow `" + st.HandedOffTo + "` speaks for the connector now.\n")
	}
	if st.Attempts > 0 {
		b.WriteString("\nPreflight runs: " + itoa(st.Attempts))
		if st.NextCheckAt != nil && st.Stage == contract.StageWaitingForSQL {
			b.WriteString("; next check " + stamp(*st.NextCheckAt) + " (or at once: `ardent signal sql-applied " + st.Name + "`)")
		}
		b.WriteString("\n")
	}
	if rep := st.Report; rep != nil && !rep.Passed {
		b.WriteString("\n**Preflight checks that block**\n\n")
		for _, c := range rep.Checks {
			if c.Status == contract.CheckPass || c.Status == contract.CheckWarn {
				continue
			}
			b.WriteString("- **" + string(c.Status) + "** `" + c.ID + "`: " + c.Message)
			if c.Remedy != "" {
				b.WriteString(" — " + c.Remedy)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// header is the part both documents share: stage, source, error, remedy.
func header(b *strings.Builder, st contract.Status) {
	b.WriteString("**Stage: " + string(st.Stage) + "** (since " + stamp(st.UpdatedAt) + ") · connector `" + st.Name + "` · source `" +
		st.SourceDisplay + "`\n")
	if st.Error != "" {
		b.WriteString("\n**Error:** " + st.Error + "\n")
	}
	if st.Remedy != "" {
		b.WriteString("\n**What to do:** " + st.Remedy + "\n")
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func itoa(n int) string  { return strconv.Itoa(n) }
func i64(n int64) string { return strconv.FormatInt(n, 10) }
func codeList(names []string) string {
	if len(names) > maxNamedTables {
		return "`" + strings.Join(names[:maxNamedTables], "`, `") + "` and " + itoa(len(names)-maxNamedTables) + " more"
	}
	return "`" + strings.Join(names, "`, `") + "`"
}

// humanBytes is n in binary units, one decimal: "1.5 GiB", "512 B".
func humanBytes(n int64) string {
	if n < 1024 {
		return i64(n) + " B"
	}
	f, i := float64(n), 0
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	for f /= 1024; f >= 1024 && i < len(units)-1; i++ {
		f /= 1024
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[i]
}
