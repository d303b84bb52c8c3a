package preflight

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The wal_budget check's constants. The slot is created before the
// initial copy and pins every byte of WAL written until the stream has
// caught up, so the WAL it retains is about the source's WAL rate times
// the snapshot's duration.
const (
	// DefaultWALSampleInterval is how long the WAL rate is sampled for by
	// default, when the window since the last checkpoint cannot stand for
	// it (wal_window.go). The sample overlaps the other checks (it starts right after
	// connecting), so it adds only what they do not already take: a
	// preflight of 10,000 tables stays within its 2 s budget.
	DefaultWALSampleInterval = 1500 * time.Millisecond
	// DefaultCopyRate (bytes/s) is assumed when no table is large enough
	// to time a read of, or the timed read failed: deliberately slow (a
	// small instance or a long network path), so the estimate errs towards
	// more retained WAL, not less.
	DefaultCopyRate = 5 << 20
	// RetentionMargin covers what the copy's duration leaves out: the slot
	// is created (waiting for running transactions) and the schema is
	// discovered before the copy starts, and after it the stream must
	// decode what was retained while more WAL arrives.
	RetentionMargin = 1.25
	// LargeRetention is the estimate that warns when max_slot_wal_keep_size
	// is unlimited: Ardent cannot read the WAL volume's free space over SQL.
	LargeRetention = 1 << 30
)

const mb = 1 << 20

// WALBudget is what the wal_budget check measured on the source; Check
// turns it into the verdict. Sizes are bytes, rates bytes per second.
type WALBudget struct {
	// WALBytes were written during Window, the WAL rate's sample.
	// WindowFrom says which window that was when it was not a timed
	// sample ("since the last checkpoint").
	WALBytes   int64
	Window     time.Duration
	WindowFrom string
	// CopyBytes is the selection's size (heap and TOAST, which is what
	// COPY reads), CopyRate how fast it reads, and CopyRateFrom how that
	// rate was found ("measured on public.orders", "assumed: ...").
	CopyBytes    int64
	CopyRate     float64
	CopyRateFrom string
	// UnsizedTables were never vacuumed or analyzed and too many to read
	// from disk: CopyBytes leaves them out.
	UnsizedTables int
	// KeepMB is max_slot_wal_keep_size in MB, -1 for unlimited.
	KeepMB int64
	// SegmentBytes is wal_segment_size: PostgreSQL keeps whole segments,
	// so a recommended size is rounded up to one.
	SegmentBytes int64
	// WALDirBytes is the size of pg_wal now, -1 when it could not be read
	// (WALDirError says why).
	WALDirBytes int64
	WALDirError string
}

// WALRate is the sampled WAL rate in bytes per second.
func (b WALBudget) WALRate() float64 {
	if b.Window <= 0 {
		return 0
	}
	return float64(b.WALBytes) / b.Window.Seconds()
}

// Duration estimates how long the initial copy takes.
func (b WALBudget) Duration() time.Duration {
	if b.CopyBytes <= 0 {
		return 0
	}
	rate := b.CopyRate
	if rate <= 0 {
		rate = DefaultCopyRate
	}
	return time.Duration(float64(b.CopyBytes) / rate * float64(time.Second))
}

// Retained estimates the WAL the slot holds when the copy ends, with
// RetentionMargin.
func (b WALBudget) Retained() int64 {
	return int64(b.WALRate() * b.Duration().Seconds() * RetentionMargin)
}

// Check is the wal_budget verdict: fail when the estimate exceeds
// max_slot_wal_keep_size (the slot would be invalidated mid-snapshot and
// the snapshot lost), warn above half of it (no headroom for a busier
// hour) or when the setting is unlimited and the estimate large, pass
// otherwise.
func (b WALBudget) Check() Check {
	c := Check{ID: CheckWalBudget, Status: StatusPass}
	retained := b.Retained()
	copying := humanBytes(float64(b.CopyBytes)) + " to copy"
	if b.UnsizedTables > 0 {
		copying += fmt.Sprintf(" (and %d tables never analyzed, not counted)", b.UnsizedTables)
	}
	var head string
	switch {
	case b.CopyBytes <= 0:
		c.Message = "the selection holds no data to copy: the slot retains only the WAL written while the connector starts"
		if b.UnsizedTables > 0 {
			// Never analyzed: autovacuum never found enough rows in them.
			c.Message += fmt.Sprintf(" (%d tables never analyzed were not sized)", b.UnsizedTables)
		}
		return c
	case b.WALBytes <= 0:
		head = fmt.Sprintf("this snapshot will retain next to no WAL: the source wrote none %s (%s in about %s at ~%s/s, %s)",
			b.window(), copying, humanDuration(b.Duration()), humanBytes(b.copyRate()), b.CopyRateFrom)
	default:
		head = fmt.Sprintf("this snapshot will retain about %s of WAL over about %s (WAL rate %s/s %s, %s at ~%s/s, %s; %d%% margin)",
			humanBytes(float64(retained)), humanDuration(b.Duration()), humanBytes(b.WALRate()), b.window(),
			copying, humanBytes(b.copyRate()), b.CopyRateFrom, int(math.Round((RetentionMargin-1)*100)))
	}
	keep, setting := b.recommend(retained)
	set := fmt.Sprintf("ALTER SYSTEM SET max_slot_wal_keep_size = '%s'; SELECT pg_reload_conf();", setting)
	if b.KeepMB < 0 {
		verdict := "max_slot_wal_keep_size is -1 (unlimited)"
		if retained < LargeRetention {
			c.Message = head + "; " + verdict + "; " + b.dirNote(retained)
			return c
		}
		c.Status = StatusWarn
		c.Message = head + "; " + verdict + ": pg_wal grows by that much until the stream catches up; " + b.dirNote(retained)
		c.Remedy = fmt.Sprintf("make sure the WAL volume has at least %s free and bound what a slot may retain below that (%s), or onboard at a quieter hour",
			humanBytes(float64(keep)), set)
		return c
	}
	budget := b.KeepMB * mb
	verdict := "max_slot_wal_keep_size is " + humanBytes(float64(budget))
	switch {
	case retained > budget:
		c.Status = StatusFail
		verdict += ": the slot would be invalidated mid-snapshot and the snapshot lost"
	case retained > budget/2:
		c.Status = StatusWarn
		verdict += ": that is more than half of it, no headroom if writes pick up"
	default:
		c.Message = head + "; " + verdict + ": well within it; " + b.dirNote(retained)
		return c
	}
	c.Message = head + "; " + verdict + "; " + b.dirNote(retained)
	c.Remedy = fmt.Sprintf("raise it to at least %s (%s) with that much free space on the WAL volume, or onboard at a quieter hour",
		humanBytes(float64(keep)), set)
	return c
}

// window names the WAL rate's window for a sentence: "in a 1.5 s
// sample", "over the 4 min since the last checkpoint".
func (b WALBudget) window() string {
	if b.WindowFrom == "" {
		return "in a " + humanDuration(b.Window) + " sample"
	}
	return "over the " + humanDuration(b.Window) + " " + b.WindowFrom
}

func (b WALBudget) copyRate() float64 {
	if b.CopyRate <= 0 {
		return DefaultCopyRate
	}
	return b.CopyRate
}

// dirNote says what was compared besides max_slot_wal_keep_size.
func (b WALBudget) dirNote(retained int64) string {
	const disk = "free disk space is not readable over SQL and was not compared"
	if b.WALDirBytes < 0 {
		why := b.WALDirError
		if why == "" {
			why = "not readable"
		}
		return fmt.Sprintf("the size of pg_wal was not read (%s) and %s", why, disk)
	}
	return fmt.Sprintf("pg_wal holds %s now and may grow to about %s; %s",
		humanBytes(float64(b.WALDirBytes)), humanBytes(float64(b.WALDirBytes+retained)), disk)
}

// recommend is the max_slot_wal_keep_size that would pass with this
// estimate (twice it: the warning starts at half), rounded up to whole
// WAL segments, and to whole GB from 1 GB, as bytes and as a setting.
func (b WALBudget) recommend(retained int64) (int64, string) {
	seg := max(b.SegmentBytes, mb)
	need := max(2*retained, seg)
	need = (need + seg - 1) / seg * seg
	if need >= 1<<30 {
		gb := (need + 1<<30 - 1) >> 30
		return gb << 30, strconv.FormatInt(gb, 10) + "GB"
	}
	mbs := (need + mb - 1) / mb
	return mbs * mb, strconv.FormatInt(mbs, 10) + "MB"
}

// humanBytes is n in PostgreSQL's units (1 kB = 1024 bytes), two
// significant digits below 10: "3.2 GB", "14 MB", "512 bytes".
func humanBytes(n float64) string {
	units := []string{"bytes", "kB", "MB", "GB", "TB", "PB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f bytes", n)
	}
	s := strconv.FormatFloat(n, 'f', 0, 64)
	if n < 9.95 {
		s = strings.TrimSuffix(strconv.FormatFloat(n, 'f', 1, 64), ".0")
	}
	return s + " " + units[i]
}

// humanDuration rounds d for a sentence: "1.5 s", "40 s", "14 min", "2.5 h".
func humanDuration(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return strings.TrimSuffix(strconv.FormatFloat(d.Seconds(), 'f', 1, 64), ".0") + " s"
	case d < 90*time.Second:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d < 90*time.Minute:
		return fmt.Sprintf("%.0f min", d.Minutes())
	case d < 48*time.Hour:
		return strings.TrimSuffix(strconv.FormatFloat(d.Hours(), 'f', 1, 64), ".0") + " h"
	default:
		return strings.TrimSuffix(strconv.FormatFloat(d.Hours()/24, 'f', 1, 64), ".0") + " days"
	}
}
