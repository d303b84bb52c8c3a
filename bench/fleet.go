package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// The fleet workload (issue 19): N connectors, one per small database of
// one source cluster (each with its own slot), onboarded through bin/ardent
// and streaming on one bin/ardent-worker into one destination database,
// each into its own schema (--target-schema fleet_NNN).
//
// Figures, once every connector streams and has applied a first row:
//   - worker RSS (VmRSS at the end, VmHWM over the idle window) and CPU
//     (utime+stime of /proc/<pid>/stat) over an idle window without writes;
//   - Temporal actions per connector per second over that window: the dev
//     server's own `action` counter (namespace default), scraped from its
//     Prometheus endpoint before and after, which counts what Temporal
//     Cloud bills as actions, activity heartbeats included
//     (grpc_RecordActivityTaskHeartbeat); RecordActivityTaskHeartbeat
//     requests are reported on their own too;
//   - write-visible latency: one row inserted per connector with
//     clock_timestamp(), the destination's commit timestamp of that row
//     (track_commit_timestamp) minus it; a burst round (all N at once) and
//     a spread round (one connector at a time, evenly over a window).

const (
	fleetDestDB = "fleet"
	fleetTplDB  = "fleet_tpl"
	fleetTable  = "events"
)

// fleetConfig sizes the fleet workload (-fleet-* flags).
type fleetConfig struct {
	Connectors  int // connectors on the one worker, one source database each
	Rows        int // rows of each connector's table
	IdleSeconds int // the idle window measured
}

func fleetName(i int) string { return fmt.Sprintf("fleet_%03d", i) }

type fleet struct {
	e           *env
	cfg         config
	n           int
	st          *e2estack.Stack
	src, dst    *cluster
	ardent      *e2estack.Deployment
	worker      *temporaltest.Process
	metricsURL  string // the dev server's Prometheus endpoint
	workerHTTP  string // the worker's metrics (and pprof) address
	srcConns    []*pgx.Conn
	probeSerial int
}

func benchFleet(ctx context.Context, e *env, cfg config) Result {
	n := cfg.Fleet.Connectors
	res := Result{
		Workload: fmt.Sprintf("fleet of %d connectors on one worker", n),
		RowShape: fmt.Sprintf("%d databases on one source cluster, each %s(id bigserial PK, ts timestamptz, v text 16 B) with %d rows and its own slot, onboarded with `ardent onboard --target-schema` into one destination database; idle window %d s without writes; write-visible latency = destination commit time (track_commit_timestamp) - clock_timestamp() of the source insert, a burst round (one row in each of the %d at once) and a spread round (one connector at a time over %d s); actions = the dev server's `action` counter (namespace default, heartbeats included)",
			n, fleetTable, cfg.Fleet.Rows, cfg.Fleet.IdleSeconds, n, cfg.Fleet.IdleSeconds/2),
		Target: "RSS < 1 GB, idle CPU < 5% of a core, <= 0.2 actions/s per idle connector, every write visible <= 2 s",
	}
	f := &fleet{e: e, cfg: cfg, n: n}
	defer f.close()
	details := map[string]any{"connectors": n}
	res.Details = details
	if err := f.start(ctx); err != nil {
		return failed(res, err)
	}
	if err := f.onboard(ctx, details); err != nil {
		f.workerTrouble(details)
		return failed(res, err)
	}
	// Let the onboarding's tail (catalog writes, first verify, discovery)
	// settle before the idle window.
	select {
	case <-ctx.Done():
		return failed(res, ctx.Err())
	case <-time.After(10 * time.Second):
	}
	idle, err := f.idle(ctx, time.Duration(cfg.Fleet.IdleSeconds)*time.Second)
	if err != nil {
		return failed(res, err)
	}
	for k, v := range idle {
		details[k] = v
	}
	burst, err := f.writeRound(ctx, 0)
	if err != nil {
		return failed(res, fmt.Errorf("burst round: %w", err))
	}
	spread, err := f.writeRound(ctx, time.Duration(cfg.Fleet.IdleSeconds/2)*time.Second)
	if err != nil {
		return failed(res, fmt.Errorf("spread round: %w", err))
	}
	all := append(slices.Clone(burst), spread...)
	details["write_visible_burst_p50_s"] = round3(percentile(burst, 0.5))
	details["write_visible_burst_p99_s"] = round3(percentile(burst, 0.99))
	details["write_visible_burst_max_s"] = round3(slices.Max(burst))
	details["write_visible_spread_p50_s"] = round3(percentile(spread, 0.5))
	details["write_visible_spread_p99_s"] = round3(percentile(spread, 0.99))
	details["write_visible_spread_max_s"] = round3(slices.Max(spread))
	details["write_visible_p50_s"] = round3(percentile(all, 0.5))
	details["write_visible_p99_s"] = round3(percentile(all, 0.99))
	details["write_visible_max_s"] = round3(slices.Max(all))
	f.workerTrouble(details)
	if cfg.Profile {
		details["profiles"] = f.profiles(ctx)
	}
	// Headline: the worst write-visible latency over both rounds.
	res.Ardent = newSeries("s max write-visible", []float64{slices.Max(all)})
	rss, _ := details["rss_mb"].(float64)
	cpu, _ := details["idle_cpu_pct_of_core"].(float64)
	act, _ := details["actions_per_connector_per_s"].(float64)
	res.Met = rss < 1024 && cpu < 5 && act <= 0.2 && slices.Max(all) <= 2
	perConn := func(v float64) float64 { return v / float64(n) }
	res.Figures = []Figure{
		fig("worker RSS", "MB", rss, "< 1024 MB", rss < 1024),
		{Name: "worker RSS per connector", Unit: "MB", Value: perConn(rss)},
		fig("worker idle CPU", "% of a core", cpu, "< 5% of a core", cpu < 5),
		{Name: "worker idle CPU per connector", Unit: "% of a core", Value: perConn(cpu)},
		fig("Temporal actions per idle connector", "/s", act, "<= 0.2/s", act <= 0.2),
		{Name: "write visible, p50 over connectors", Unit: "s", Value: percentile(all, 0.5)},
		fig("write visible, worst connector", "s", slices.Max(all), "<= 2 s", slices.Max(all) <= 2),
	}
	e.log.Info("fleet", "connectors", n, "rss_mb", rss, "idle_cpu_pct_of_core", cpu, "actions_per_connector_per_s", act,
		"write_visible_p50_s", details["write_visible_p50_s"], "write_visible_max_s", details["write_visible_max_s"])
	return res
}

func (f *fleet) close() {
	for _, c := range f.srcConns {
		if c != nil {
			_ = c.Close(context.Background())
		}
	}
	if f.st != nil {
		_ = f.st.Close()
	}
}

// start brings up the clusters sized for n connectors, the dev server
// with a metrics port, the worker and the n source databases.
func (f *fleet) start(ctx context.Context) error {
	bin := filepath.Join(f.cfg.RepoRoot, "bin")
	for _, b := range []string{"ardent", "ardent-worker", "temporal"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return fmt.Errorf("%s missing: run `make deps build` first: %w", filepath.Join(bin, b), err)
		}
	}
	mport, err := pgtest.FreePort()
	if err != nil {
		return err
	}
	hport, err := pgtest.FreePort()
	if err != nil {
		return err
	}
	// A streaming connector holds a walsender and a few ordinary sessions
	// on the source (catalog reads, drift checks, the slot watcher) and a
	// small pool on the destination: room for 4 each, plus the harness.
	conns := fmt.Sprintf("max_connections = %d", 4*f.n+60)
	st, err := e2estack.New(ctx, e2estack.Options{
		Source: pgtest.Options{SSL: true, MaxWalSenders: f.n + 10, MaxReplicationSlots: f.n + 10,
			ExtraConf: []string{conns, "max_wal_size = 2GB"}},
		Destination:          pgtest.Options{ExtraConf: []string{conns, "max_wal_size = 2GB", "track_commit_timestamp = on"}},
		DestinationDatabases: []string{fleetDestDB},
		Temporal:             temporaltest.Options{ExtraArgs: []string{"--metrics-port", strconv.Itoa(mport)}},
		ArdentBin:            filepath.Join(bin, "ardent"),
		WorkerBin:            filepath.Join(bin, "ardent-worker"),
		Dir:                  f.e.root,
	})
	if err != nil {
		return err
	}
	f.st = st
	f.src, f.dst = &cluster{st.Src, "fleet-src"}, &cluster{st.Dst, "fleet-dst"}
	f.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", mport)
	f.workerHTTP = fmt.Sprintf("127.0.0.1:%d", hport)

	t0 := time.Now()
	if err := f.src.CreateDatabaseContext(ctx, fleetTplDB); err != nil {
		return err
	}
	if err := f.src.ExecContext(ctx, fleetTplDB, fmt.Sprintf(`CREATE TABLE %s (id bigserial PRIMARY KEY, ts timestamptz NOT NULL DEFAULT clock_timestamp(), v text NOT NULL);
		INSERT INTO %[1]s (v) SELECT md5(i::text)::varchar(16) FROM generate_series(1, %d) i`, fleetTable, f.cfg.Fleet.Rows)); err != nil {
		return err
	}
	for i := range f.n {
		if err := f.src.ExecContext(ctx, "postgres", fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY", fleetName(i), fleetTplDB)); err != nil {
			return fmt.Errorf("create source database %s: %w", fleetName(i), err)
		}
	}
	f.e.log.Info("fleet source databases created", "databases", f.n, "took", time.Since(t0).Round(time.Millisecond))

	f.ardent = st.Deploy("fleet", "ARDENT_LOG_LEVEL=info")
	env := []string{"ARDENT_HTTP_ADDRESS=" + f.workerHTTP}
	if f.cfg.Profile {
		env = append(env, "ARDENT_PPROF=true")
	}
	f.worker, err = f.ardent.StartWorkerContext(ctx, env...)
	return err
}

type fleetEntry struct {
	Name  string `json:"name"`
	Stage string `json:"stage"`
}

// stages is `ardent list --format json`, connector name -> stage.
func (f *fleet) stages(ctx context.Context) (map[string]string, error) {
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, code, err := f.ardent.Command(cctx, nil, "list", "--format", "json")
	if err != nil {
		return nil, err
	}
	var rep struct {
		Connectors []fleetEntry `json:"connectors"`
	}
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		return nil, fmt.Errorf("ardent list: exit %d: %s", code, temporaltest.Tail(out, 5))
	}
	m := map[string]string{}
	for _, c := range rep.Connectors {
		m[c.Name] = c.Stage
	}
	return m, nil
}

// onboard runs `ardent onboard` for every connector (a few at once, as a
// script would), waits until every one is streaming, then until a row
// written in each has arrived.
func (f *fleet) onboard(ctx context.Context, details map[string]any) error {
	start := time.Now()
	names := make(chan int)
	errs := make(chan error, f.n)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names {
				name := fleetName(i)
				cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				out, code, err := f.ardent.Command(cctx, nil, "onboard", "--name", name, "--source", f.src.URL(name),
					"--destination", f.dst.URL(fleetDestDB), "--schema", "public", "--target-schema", name)
				cancel()
				if err == nil && code != 0 {
					err = fmt.Errorf("exit status %d: %s", code, temporaltest.Tail(out, 5))
				}
				if err != nil {
					errs <- fmt.Errorf("onboard %s: %w", name, err)
				}
			}
		}()
	}
	for i := range f.n {
		names <- i
	}
	close(names)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	submitted := time.Since(start)
	f.e.log.Info("fleet onboard commands done", "connectors", f.n, "took", submitted.Round(time.Millisecond))

	// Stages: queued, preflight, snapshot... are "not yet streaming";
	// failed and attention end the wait.
	var last map[string]string
	lastLog := time.Time{}
	timeout := 3*time.Minute + time.Duration(f.n)*6*time.Second
	err := e2estack.Poll(ctx, timeout, 2*time.Second, fmt.Sprintf("all %d connectors streaming", f.n), func() (bool, error) {
		m, err := f.stages(ctx)
		if err != nil {
			f.e.log.Debug("fleet list", "error", err)
			return false, nil
		}
		last = m
		hist := map[string]int{}
		streaming := 0
		for i := range f.n {
			st := m[fleetName(i)]
			if st == "" {
				st = "(none)"
			}
			hist[st]++
			switch st {
			case "streaming":
				streaming++
			case "failed", "attention":
				out, _, _ := f.ardent.Command(ctx, nil, "status", fleetName(i))
				return false, fmt.Errorf("connector %s is %s: %s", fleetName(i), st, temporaltest.Tail(out, 15))
			}
		}
		if time.Since(lastLog) > 10*time.Second || streaming == f.n {
			f.e.log.Info("fleet onboarding", "elapsed", time.Since(start).Round(time.Second), "stages", fmt.Sprint(hist))
			lastLog = time.Now()
		}
		return streaming == f.n, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last stages: %v); worker log:\n%s", err, stageHist(last, f.n), workerErrors(f.worker))
	}
	streamingAll := time.Since(start)
	// The stage says streaming before the Replicate activity applied
	// anything: a first row in each is the real end of the onboarding.
	lat, err := f.probeAll(ctx, 3*time.Minute)
	if err != nil {
		return fmt.Errorf("first row after streaming: %w; worker log:\n%s", err, workerErrors(f.worker))
	}
	applyingAll := time.Since(start)
	details["onboard_commands_s"] = round3(submitted.Seconds())
	details["onboard_all_streaming_s"] = round3(streamingAll.Seconds())
	details["onboard_all_applying_s"] = round3(applyingAll.Seconds())
	details["onboard_connectors_per_min"] = round3(float64(f.n) / applyingAll.Minutes())
	details["first_row_max_s"] = round3(slices.Max(lat))
	f.e.log.Info("fleet streaming", "connectors", f.n, "all_streaming", streamingAll.Round(time.Second),
		"all_applying", applyingAll.Round(time.Second), "first_row_max_s", round3(slices.Max(lat)))
	return nil
}

func stageHist(m map[string]string, n int) map[string]int {
	h := map[string]int{}
	for i := range n {
		h[m[fleetName(i)]]++
	}
	return h
}

// conn is the harness's own session on connector i's source database,
// opened once: the probes' timing must not include a connection setup.
func (f *fleet) conn(ctx context.Context, i int) (*pgx.Conn, error) {
	if f.srcConns == nil {
		f.srcConns = make([]*pgx.Conn, f.n)
	}
	if f.srcConns[i] != nil {
		return f.srcConns[i], nil
	}
	c, err := pgx.Connect(ctx, f.src.URL(fleetName(i)))
	if err != nil {
		return nil, err
	}
	f.srcConns[i] = c
	return c, nil
}

type probe struct {
	conn int
	id   int64
	tag  string
}

// insert writes connector i's probe row and returns it.
func (f *fleet) insert(ctx context.Context, i int) (probe, error) {
	f.probeSerial++
	p := probe{conn: i, tag: fmt.Sprintf("probe-%d", f.probeSerial)}
	c, err := f.conn(ctx, i)
	if err != nil {
		return p, err
	}
	err = c.QueryRow(ctx, fmt.Sprintf("INSERT INTO %s (v) VALUES ($1) RETURNING id", fleetTable), p.tag).Scan(&p.id)
	return p, err
}

// probeAll writes one row in every connector at once and waits until all
// have arrived.
func (f *fleet) probeAll(ctx context.Context, timeout time.Duration) ([]float64, error) {
	for i := range f.n {
		if _, err := f.conn(ctx, i); err != nil {
			return nil, err
		}
	}
	probes := make([]probe, f.n)
	errs := make([]error, f.n)
	var wg sync.WaitGroup
	for i := range f.n {
		f.probeSerial++
		probes[i] = probe{conn: i, tag: fmt.Sprintf("probe-%d", f.probeSerial)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.srcConns[i].QueryRow(ctx, fmt.Sprintf("INSERT INTO %s (v) VALUES ($1) RETURNING id", fleetTable), probes[i].tag).Scan(&probes[i].id)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return f.await(ctx, probes, timeout)
}

// await waits until every probe is in its destination schema and returns
// each one's latency: the destination commit time minus the source ts.
func (f *fleet) await(ctx context.Context, probes []probe, timeout time.Duration) ([]float64, error) {
	conn, err := f.dst.ConnectContext(ctx, fleetDestDB)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	lat := make([]float64, len(probes))
	pending := map[int]bool{}
	for k := range probes {
		pending[k] = true
	}
	// The source's ts is read back with the destination row: the row
	// carries it.
	err = e2estack.Poll(ctx, timeout, 100*time.Millisecond, fmt.Sprintf("%d probe rows in the destination", len(probes)), func() (bool, error) {
		for k := range pending {
			p := probes[k]
			var l float64
			err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin) - ts)::float8 FROM %s.%s WHERE id = $1 AND v = $2`,
				fleetName(p.conn), fleetTable), p.id, p.tag).Scan(&l)
			if err == pgx.ErrNoRows {
				continue
			}
			if err != nil {
				return false, fmt.Errorf("read probe of %s: %w", fleetName(p.conn), err)
			}
			lat[k] = l
			delete(pending, k)
		}
		return len(pending) == 0, nil
	})
	if err != nil {
		var missing []string
		for k := range pending {
			missing = append(missing, fleetName(probes[k].conn))
		}
		sort.Strings(missing)
		if len(missing) > 10 {
			missing = append(missing[:10], "...")
		}
		return nil, fmt.Errorf("%w: %d missing (%s)", err, len(pending), strings.Join(missing, ", "))
	}
	return lat, nil
}

// writeRound writes one row per connector: all at once when over is 0,
// else one connector at a time, evenly over the duration.
func (f *fleet) writeRound(ctx context.Context, over time.Duration) ([]float64, error) {
	if over == 0 {
		lat, err := f.probeAll(ctx, time.Minute)
		if err == nil {
			f.e.log.Info("fleet burst round", "writes", len(lat), "p50_s", round3(percentile(lat, 0.5)), "max_s", round3(slices.Max(lat)))
		}
		return lat, err
	}
	step := over / time.Duration(f.n)
	var probes []probe
	for i := range f.n {
		p, err := f.insert(ctx, i)
		if err != nil {
			return nil, err
		}
		probes = append(probes, p)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(step):
		}
	}
	lat, err := f.await(ctx, probes, time.Minute)
	if err == nil {
		f.e.log.Info("fleet spread round", "writes", len(lat), "over", over, "p50_s", round3(percentile(lat, 0.5)), "max_s", round3(slices.Max(lat)))
	}
	return lat, err
}

// idle measures the worker and the dev server over a window without
// writes.
func (f *fleet) idle(ctx context.Context, window time.Duration) (map[string]any, error) {
	pid := f.worker.Pid()
	if err := resetPeakRSS(pid); err != nil {
		return nil, fmt.Errorf("reset VmHWM of the worker: %w", err)
	}
	m0, err := scrape(ctx, f.metricsURL)
	if err != nil {
		return nil, fmt.Errorf("dev server metrics: %w", err)
	}
	temporalPid := f.st.Temporal.Process.Pid()
	cpu0, tcpu0 := fleetCPU(pid), fleetCPU(temporalPid)
	mark0 := markCPU(f.src, f.dst)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(window):
	}
	cpu1, tcpu1 := fleetCPU(pid), fleetCPU(temporalPid)
	mark1 := markCPU(f.src, f.dst)
	m1, err := scrape(ctx, f.metricsURL)
	if err != nil {
		return nil, fmt.Errorf("dev server metrics: %w", err)
	}
	wall := mark1.at.Sub(mark0.at).Seconds()
	rss, err := procStatus(pid, "VmRSS")
	if err != nil {
		return nil, err
	}
	hwm, _ := procStatus(pid, "VmHWM")
	n := float64(f.n)
	d := map[string]any{"idle_window_s": round3(wall)}
	rssMB := float64(rss) / 1024
	d["rss_mb"] = round3(rssMB)
	d["rss_peak_idle_mb"] = round3(float64(hwm) / 1024)
	d["rss_per_connector_mb"] = round3(rssMB / n)
	cpuPct := 100 * (cpu1 - cpu0) / wall
	d["idle_cpu_pct_of_core"] = round3(cpuPct)
	d["idle_cpu_per_connector_pct_of_core"] = round3(cpuPct / n)
	d["temporal_server_idle_cpu_pct_of_core"] = round3(100 * (tcpu1 - tcpu0) / wall)
	d["idle_cpu_cores"] = cpuUse(mark0, mark1, map[string]float64{"worker": cpu1 - cpu0, "temporal": tcpu1 - tcpu0})

	actions := delta(m0, m1, func(name string, l map[string]string) (string, bool) {
		return l["action_type"], name == "action" && l["namespace"] == "default"
	})
	total := 0.0
	for _, v := range actions {
		total += v
	}
	d["actions"] = actions
	d["actions_per_connector_per_s"] = round3(total / n / wall)
	reqs := delta(m0, m1, func(name string, l map[string]string) (string, bool) {
		return l["operation"], name == "service_requests" && l["service_name"] == "frontend" && l["namespace"] == "default"
	})
	d["frontend_requests"] = reqs
	d["heartbeats_per_connector_per_s"] = round3(reqs["RecordActivityTaskHeartbeat"] / n / wall)
	if w, err := scrape(ctx, "http://"+f.workerHTTP+"/metrics"); err == nil {
		for _, k := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_memstats_sys_bytes"} {
			for s, v := range w {
				if s.name == k {
					d["worker_"+k] = v
				}
			}
		}
	}
	f.e.log.Info("fleet idle window", "window", window, "rss_mb", round3(rssMB), "cpu_pct_of_core", round3(cpuPct),
		"actions_per_connector_per_s", d["actions_per_connector_per_s"], "actions", fmt.Sprint(actions),
		"heartbeats_per_connector_per_s", d["heartbeats_per_connector_per_s"])
	return d, nil
}

// fleetCPU is a process's utime+stime in seconds.
func fleetCPU(pid int) float64 {
	f := procStat(pid)
	return ticks(f, 11) + ticks(f, 12)
}

type metricKey struct {
	name   string
	labels string
}

// scrape reads a Prometheus text endpoint: series -> value.
func scrape(ctx context.Context, url string) (map[metricKey]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := map[metricKey]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 64<<20))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(l, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(l[sp+1:], 64)
		if err != nil {
			continue
		}
		series := l[:sp]
		name, labels, _ := strings.Cut(series, "{")
		out[metricKey{name, strings.TrimSuffix(labels, "}")}] = v
	}
	return out, sc.Err()
}

// parseLabels splits `a="x",b="y"` (values without commas or quotes, as
// Temporal's are).
func parseLabels(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			m[k] = strings.Trim(v, `"`)
		}
	}
	return m
}

// delta sums b-a over the series pick accepts, grouped by the key pick
// returns.
func delta(a, b map[metricKey]float64, pick func(name string, labels map[string]string) (string, bool)) map[string]float64 {
	out := map[string]float64{}
	for k, v := range b {
		key, ok := pick(k.name, parseLabels(k.labels))
		if !ok {
			continue
		}
		if d := v - a[k]; d != 0 {
			out[key] += d
		}
	}
	return out
}

// profiles saves a heap profile and a 20 s CPU profile of the idle
// worker next to the results (-profile; the worker serves pprof then).
func (f *fleet) profiles(ctx context.Context) []string {
	var saved []string
	if err := os.MkdirAll(f.cfg.ResultsDir, 0o755); err != nil {
		return nil
	}
	for _, p := range []struct{ path, file string }{
		{"/debug/pprof/heap", "fleet-worker.heap.prof"},
		{"/debug/pprof/profile?seconds=20", "fleet-worker.cpu.prof"},
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+f.workerHTTP+p.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			f.e.log.Warn("worker profile", "error", err)
			continue
		}
		path := filepath.Join(f.cfg.ResultsDir, p.file)
		if out, err := os.Create(path); err == nil {
			_, _ = io.Copy(out, resp.Body)
			out.Close()
			saved = append(saved, path)
		}
		resp.Body.Close()
	}
	return saved
}

// workerTrouble counts what the worker's log says went wrong: errors,
// heartbeats the dev server did not answer in time, and Replicate attempts
// that ended (each one puts its connector in retrying for a while).
func (f *fleet) workerTrouble(details map[string]any) {
	if f.worker == nil {
		return
	}
	out := f.worker.Output()
	details["worker_log_errors"] = strings.Count(out, "level=ERROR")
	details["worker_heartbeat_errors"] = strings.Count(out, `msg="RecordActivityHeartbeat with error"`)
	details["replicate_attempts_failed"] = strings.Count(out, `msg="replication attempt failed"`)
	// The dev server's own latencies since it started: a heartbeat slower
	// than the Replicate heartbeat timeout's slack ends the attempt.
	m, err := scrape(context.Background(), f.metricsURL)
	if err != nil {
		return
	}
	avg := func(metric, op string) float64 {
		var sum, n float64
		for k, v := range m {
			l := parseLabels(k.labels)
			if l["operation"] != op || (metric == "service_latency" && l["service_name"] != "frontend") {
				continue
			}
			switch k.name {
			case metric + "_sum":
				sum += v
			case metric + "_count":
				n += v
			}
		}
		if n == 0 {
			return 0
		}
		return round3(1000 * sum / n)
	}
	details["temporal_heartbeat_latency_avg_ms"] = avg("service_latency", "RecordActivityTaskHeartbeat")
	details["temporal_persistence_update_workflow_avg_ms"] = avg("persistence_latency", "UpdateWorkflowExecution")
}

func percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)]
}
