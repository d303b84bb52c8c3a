package preflight_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ardent-cdc/ardent/internal/preflight"
)

const (
	mib = int64(1) << 20
	gib = int64(1) << 30
)

// budget is a source writing walPerSec bytes of WAL a second, with gb GB to
// copy at 6 MB/s: the snapshot takes gb*1024/6 seconds.
func budget(walPerSec, copyBytes, keepMB int64) preflight.WALBudget {
	return preflight.WALBudget{
		WALBytes: walPerSec * 3 / 2, Window: 1500 * time.Millisecond,
		CopyBytes: copyBytes, CopyRate: float64(6 * mib), CopyRateFrom: "measured on public.orders",
		KeepMB: keepMB, SegmentBytes: 16 * mib, WALDirBytes: 160 * mib,
	}
}

func TestWALBudgetVerdict(t *testing.T) {
	tests := []struct {
		name       string
		b          preflight.WALBudget
		want       preflight.Status
		msg        []string
		remedy     []string // empty: no remedy
		retainedMB int64    // rate * duration * 1.25, in whole MB
	}{
		{name: "nothing to copy", b: budget(4*mib, 0, 1024), want: preflight.StatusPass,
			msg: []string{"no data to copy"}},
		{name: "quiet source, tiny budget", b: budget(0, 5*gib, 1), want: preflight.StatusPass,
			msg: []string{"next to no WAL", "none in a 1.5 s sample", "5 GB to copy in about 14 min at ~6 MB/s"}},
		// 4 MB/s for 5 GB / 6 MB/s = 853 s: 4267 MB with the margin.
		{name: "over the budget", b: budget(4*mib, 5*gib, 1024), want: preflight.StatusFail, retainedMB: 4266,
			msg:    []string{"about 4.2 GB of WAL over about 14 min", "max_slot_wal_keep_size is 1 GB: the slot would be invalidated mid-snapshot"},
			remedy: []string{"at least 9 GB", "ALTER SYSTEM SET max_slot_wal_keep_size = '9GB'; SELECT pg_reload_conf();", "quieter hour"}},
		{name: "just over the budget", b: budget(4*mib, 5*gib, 4266), want: preflight.StatusFail, retainedMB: 4266},
		{name: "at the budget", b: budget(4*mib, 5*gib, 4267), want: preflight.StatusWarn, retainedMB: 4266,
			msg: []string{"more than half of it"}, remedy: []string{"'9GB'"}},
		{name: "just over half", b: budget(4*mib, 5*gib, 8532), want: preflight.StatusWarn, retainedMB: 4266},
		{name: "at half", b: budget(4*mib, 5*gib, 8534), want: preflight.StatusPass, retainedMB: 4266,
			msg: []string{"well within it"}},
		{name: "small budget, slow writer", b: budget(100<<10, 60*mib, 1), want: preflight.StatusFail, retainedMB: 1,
			remedy: []string{"at least 16 MB", "'16MB'"}}, // whole WAL segments
		{name: "zero budget", b: budget(10<<10, 60*mib, 0), want: preflight.StatusFail},
		{name: "unlimited, small", b: budget(64<<10, 5*gib, -1), want: preflight.StatusPass,
			msg: []string{"max_slot_wal_keep_size is -1 (unlimited)"}},
		{name: "unlimited, large", b: budget(4*mib, 5*gib, -1), want: preflight.StatusWarn, retainedMB: 4266,
			msg:    []string{"-1 (unlimited): pg_wal grows by that much"},
			remedy: []string{"make sure the WAL volume has at least 9 GB free", "max_slot_wal_keep_size = '9GB'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.retainedMB != 0 {
				assert.Equal(t, tt.retainedMB, tt.b.Retained()/mib)
			}
			c := tt.b.Check()
			assert.Equal(t, preflight.CheckWalBudget, c.ID)
			assert.Equalf(t, tt.want, c.Status, "%s / %s", c.Message, c.Remedy)
			for _, m := range tt.msg {
				assert.Contains(t, c.Message, m)
			}
			if tt.want == preflight.StatusPass {
				assert.Empty(t, c.Remedy)
			}
			for _, m := range tt.remedy {
				assert.Contains(t, c.Remedy, m)
			}
		})
	}
}

// The message says what was and was not compared: pg_wal's size where the
// role may read it, free disk space never.
func TestWALBudgetWALDirNote(t *testing.T) {
	b := budget(4*mib, 5*gib, 1024)
	assert.Contains(t, b.Check().Message, "pg_wal holds 160 MB now and may grow to about 4.3 GB; free disk space is not readable over SQL and was not compared")
	b.WALDirBytes, b.WALDirError = -1, "pg_ls_waldir() needs pg_monitor or superuser"
	c := b.Check()
	assert.Equal(t, preflight.StatusFail, c.Status, "an unreadable pg_wal changes nothing else")
	assert.Contains(t, c.Message, "the size of pg_wal was not read (pg_ls_waldir() needs pg_monitor or superuser) and free disk space is not readable over SQL")
}

func TestWALBudgetUnits(t *testing.T) {
	tests := []struct {
		b    preflight.WALBudget
		want string
	}{
		{preflight.WALBudget{WALBytes: 300, Window: time.Second, CopyBytes: 5 * mib, CopyRate: float64(mib), CopyRateFrom: "x", KeepMB: -1, WALDirBytes: 1000},
			"retain about 1.8 kB of WAL over about 5 s (WAL rate 300 bytes/s in a 1 s sample, 5 MB to copy at ~1 MB/s, x; 25% margin)"},
		{preflight.WALBudget{WALBytes: 20 * mib, Window: 2 * time.Second, CopyBytes: 3 * 1024 * gib, CopyRate: float64(40 * mib), CopyRateFrom: "x", KeepMB: -1, WALDirBytes: 1000},
			"retain about 960 GB of WAL over about 21.8 h (WAL rate 10 MB/s in a 2 s sample, 3 TB to copy at ~40 MB/s"},
		{preflight.WALBudget{WALBytes: 20 * mib, Window: 2 * time.Second, CopyBytes: 3 * 1024 * gib, CopyRate: float64(4 * mib), CopyRateFrom: "x", KeepMB: -1, WALDirBytes: 1000},
			"over about 9.1 days"},
		{preflight.WALBudget{WALBytes: 20 * mib, Window: 2 * time.Second, CopyBytes: 100 * mib, CopyRate: 0, CopyRateFrom: "assumed", KeepMB: -1, WALDirBytes: 1000},
			"over about 20 s (WAL rate 10 MB/s in a 2 s sample, 100 MB to copy at ~5 MB/s, assumed"}, // DefaultCopyRate
		{preflight.WALBudget{WALBytes: 240 * mib, Window: 4 * time.Minute, WindowFrom: "since the last checkpoint", CopyBytes: 100 * mib, CopyRate: 0, CopyRateFrom: "assumed", KeepMB: -1, WALDirBytes: 1000},
			"(WAL rate 1 MB/s over the 4 min since the last checkpoint, 100 MB to copy"},
	}
	for _, tt := range tests {
		assert.Contains(t, tt.b.Check().Message, tt.want)
	}
	b := budget(4*mib, 5*gib, -1)
	b.UnsizedTables = 300
	assert.Contains(t, b.Check().Message, "5 GB to copy (and 300 tables never analyzed, not counted) at ~6 MB/s")
	b.CopyBytes = 0
	assert.Contains(t, b.Check().Message, "no data to copy: the slot retains only the WAL written while the connector starts (300 tables never analyzed were not sized)")
}

// A source writing 4 MB of WAL a second while 5 GB are copied at 6 MB/s,
// with max_slot_wal_keep_size = 1GB.
func ExampleWALBudget_Check() {
	c := preflight.WALBudget{
		WALBytes: 6 << 20, Window: 1500 * time.Millisecond,
		CopyBytes: 5 << 30, CopyRate: 6 << 20, CopyRateFrom: "measured on public.orders: 8 MB in 1.3 s",
		KeepMB: 1024, SegmentBytes: 16 << 20, WALDirBytes: -1, WALDirError: "pg_ls_waldir() needs pg_monitor or superuser",
	}.Check()
	fmt.Println(c.Status)
	fmt.Println(c.Message)
	fmt.Println(c.Remedy)
	// Output:
	// fail
	// this snapshot will retain about 4.2 GB of WAL over about 14 min (WAL rate 4 MB/s in a 1.5 s sample, 5 GB to copy at ~6 MB/s, measured on public.orders: 8 MB in 1.3 s; 25% margin); max_slot_wal_keep_size is 1 GB: the slot would be invalidated mid-snapshot and the snapshot lost; the size of pg_wal was not read (pg_ls_waldir() needs pg_monitor or superuser) and free disk space is not readable over SQL and was not compared
	// raise it to at least 9 GB (ALTER SYSTEM SET max_slot_wal_keep_size = '9GB'; SELECT pg_reload_conf();) with that much free space on the WAL volume, or onboard at a quieter hour
}
