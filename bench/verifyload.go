package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/rowsum"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/verify"
)

// writeLoad is verifyWriteRate single-row UPDATEs per second of t.n on
// random keys, through one connection, until stopped.
type writeLoad struct {
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
	start   time.Time
	updates int64
	err     error
	secs    float64
}

func startWriteLoad(ctx context.Context, src *cluster, rows int) *writeLoad {
	lctx, cancel := context.WithCancel(ctx)
	w := &writeLoad{cancel: cancel, done: make(chan struct{}), start: time.Now()}
	go func() {
		defer close(w.done)
		conn, err := pgx.Connect(lctx, src.URL("postgres"))
		if err != nil {
			w.err = err
			return
		}
		defer conn.Close(context.WithoutCancel(lctx))
		tick := time.NewTicker(time.Second / verifyWriteRate)
		defer tick.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-tick.C:
			}
			if _, err := conn.Exec(lctx, "UPDATE t SET n = n + 1 WHERE id = $1", rand.Int64N(int64(rows))+1); err != nil {
				if lctx.Err() == nil {
					w.err = fmt.Errorf("update: %w", err)
				}
				return
			}
			w.updates++
		}
	}()
	return w
}

// stop ends the load and returns the UPDATEs made and their rate.
func (w *writeLoad) stop() (int64, float64, error) {
	w.once.Do(func() {
		w.cancel()
		<-w.done
		w.secs = time.Since(w.start).Seconds()
	})
	return w.updates, float64(w.updates) / w.secs, w.err
}

var workersRe = regexp.MustCompile(`Workers Planned: (\d+)`)

// verifyPhases is where verify's time goes, on the source alone and
// outside the timed runs: the key sample that places the chunk bounds (as
// verify's thresholds takes it), a bare heap scan, the row hash without
// buckets, and the bucketed scan verify runs on each side; plus the
// parallel workers and JIT the planner gives them and the baseline.
// The queries mirror internal/verify/compare.go for a bigint key.
func verifyPhases(ctx context.Context, e *env, src *cluster, t schema.Table) (map[string]any, error) {
	conn, err := pgx.Connect(ctx, src.URL("postgres"))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, rowsum.Settings); err != nil {
		return nil, err
	}
	out := map[string]any{}
	timed := func(name, q string, dest ...any) error {
		start := time.Now()
		if err := conn.QueryRow(ctx, q).Scan(dest...); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s: %w", name, err)
		}
		out[name+"_s"] = round3(time.Since(start).Seconds())
		return nil
	}
	var est float64
	if err := conn.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = 'public.t'::regclass").Scan(&est); err != nil {
		return nil, err
	}
	chunks := int(math.Min(1000, est/float64(verify.DefaultChunkRows)))
	pct := math.Min(100, math.Max(0.001, 100*float64(chunks*20)/est))
	var keys []int64
	start := time.Now()
	rows, err := conn.Query(ctx, fmt.Sprintf("SELECT s.k FROM (SELECT t.id::bigint AS k FROM ONLY public.t t TABLESAMPLE SYSTEM (%g)) s ORDER BY s.k", pct))
	if err == nil {
		keys, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	if err != nil {
		return nil, fmt.Errorf("sample keys: %w", err)
	}
	out["sample_s"], out["sample_keys"], out["sample_percent"] = round3(time.Since(start).Seconds()), len(keys), pct
	var th []string
	for i := 1; i < chunks && len(keys) > 0; i++ {
		if k := fmt.Sprint(keys[i*len(keys)/chunks]); len(th) == 0 || th[len(th)-1] != k {
			th = append(th, k)
		}
	}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = "t." + schema.QuoteIdent(c.Name)
	}
	hash := "hashtextextended(ROW(" + strings.Join(cols, ", ") + ")::text, 0)"
	bucketed := fmt.Sprintf("SELECT width_bucket(t.id::bigint, '{%s}'::bigint[]) AS b, count(*), coalesce(sum(%s), 0)::text FROM ONLY public.t t GROUP BY 1",
		strings.Join(th, ","), hash)
	var width int64
	var sum string
	if err := timed("scan", "SELECT sum(length(t.h)) FROM ONLY public.t t", &width); err != nil {
		return nil, err
	}
	if err := timed("hash_no_buckets", "SELECT coalesce(sum("+hash+"), 0)::text FROM ONLY public.t t", &sum); err != nil {
		return nil, err
	}
	// All rows read: in a subquery the planner would drop the unused sums.
	start = time.Now()
	brows, err := conn.Query(ctx, bucketed)
	if err == nil {
		for brows.Next() {
		}
		err = brows.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("bucketed scan: %w", err)
	}
	out["bucketed_scan_s"] = round3(time.Since(start).Seconds())
	for name, q := range map[string]string{"hash_no_buckets": "SELECT sum(" + hash + ") FROM ONLY public.t t", "bucketed_scan": bucketed, "baseline": baselinePlain} {
		var plan []string
		rows, err := conn.Query(ctx, "EXPLAIN "+q)
		if err == nil {
			plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", name, err)
		}
		workers := 0
		if m := workersRe.FindStringSubmatch(strings.Join(plan, "\n")); m != nil {
			fmt.Sscan(m[1], &workers)
		}
		out[name+"_workers_planned"] = workers
		out[name+"_jit"] = strings.Contains(strings.Join(plan, "\n"), "JIT:")
	}
	e.log.Info("verify: phases on the source alone", "phases", out)
	return out, nil
}
