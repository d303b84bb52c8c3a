package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU accounting, to tell what limits a run on a small machine: the CPU
// seconds each party used during the run (the source cluster, where the
// walsender decodes; the destination cluster; this process, which runs the
// in-process Streamer; pg_recvlogical) against the machine's busy time.
// Busy time beyond the parties' is someone else's load on the machine.

const clockTicks = 100 // USER_HZ on Linux

type cpuMark struct {
	at      time.Time
	busy    float64 // whole machine, seconds
	self    float64
	cluster map[string]float64
}

func markCPU(clusters ...*cluster) cpuMark {
	m := cpuMark{at: time.Now(), busy: machineBusy(), cluster: map[string]float64{}}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.self = tv(ru.Utime) + tv(ru.Stime)
	}
	for _, c := range clusters {
		m.cluster[c.name] = clusterCPU(c)
	}
	return m
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// cpuUse is what happened between two marks, in cores (CPU seconds per
// wall second), rounded for the report.
func cpuUse(a, b cpuMark, extra map[string]float64) map[string]float64 {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return nil
	}
	r := func(v float64) float64 { return float64(int(v/wall*100+0.5)) / 100 }
	out := map[string]float64{"wall_s": float64(int(wall*10+0.5)) / 10, "machine": r(b.busy - a.busy), "bench_process": r(b.self - a.self)}
	ours := b.self - a.self
	for name, v := range b.cluster {
		out[name] = r(v - a.cluster[name])
		ours += v - a.cluster[name]
	}
	for name, v := range extra {
		out[name] = r(v)
		ours += v
	}
	out["others"] = r(max(0, (b.busy-a.busy)-ours))
	return out
}

// machineBusy is the machine's non-idle CPU time from /proc/stat.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / clockTicks
}

// clusterCPU is the CPU time of a cluster's postmaster and its children,
// live ones directly and exited ones through the postmaster's cutime.
func clusterCPU(c *cluster) float64 {
	b, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0
	}
	total := 0.0
	if f := procStat(pm); f != nil {
		total += ticks(f, 11) + ticks(f, 12) + ticks(f, 13) + ticks(f, 14)
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pm {
			continue
		}
		f := procStat(pid)
		if len(f) < 13 || f[1] != strconv.Itoa(pm) {
			continue
		}
		total += ticks(f, 11) + ticks(f, 12)
	}
	return total
}

// procStat returns the fields of /proc/pid/stat after the command name:
// f[0] is the state, f[1] the ppid, f[11] utime, f[12] stime, f[13]
// cutime, f[14] cstime.
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

func ticks(f []string, i int) float64 {
	if i >= len(f) {
		return 0
	}
	n, _ := strconv.ParseFloat(f[i], 64)
	return n / clockTicks
}
