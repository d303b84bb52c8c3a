package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/e2estack"
)

// TestVerifyEndToEnd is `ardent verify` with real parts: equal after the
// snapshot, a row deleted on the destination behind Ardent's back is found
// (exit 1, the key named, the connector in attention while it streams on),
// repairing it clears the attention; the periodic verification shows in
// the status; what cannot be verified exits 2 with the reason.
func TestVerifyEndToEnd(t *testing.T) {
	s := newStack(t)
	s.src.Exec(t, "app", seedSQL)
	pw := randomPassword(t)
	source := s.src.URLFor("ardent", pw, "app")
	dest := s.dst.URL("destination")
	s.applySQL(pw)
	s.startWorker()
	out, code := s.ardent("onboard", "--name", "shop", "--source", source, "--destination", dest, "--schema", "shop",
		"--verify-interval", "20s", "--wait")
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "streaming", 4*time.Minute)

	out, code = s.ardent("verify", "shop")
	require.Equal(t, 0, code, out+s.workerOutput())
	require.Contains(t, out, "shop.customers")
	require.Contains(t, out, "equal at LSN ")

	// A row deleted on the destination behind Ardent's back.
	s.psql(dest, "-c", "DELETE FROM shop.customers WHERE id = 7")
	out, code = s.ardent("verify", "shop", "--table", "shop.customers", "--format", "json")
	require.Equal(t, 1, code, out)
	var rep struct {
		LSN    string `json:"lsn"`
		Equal  bool   `json:"equal"`
		Tables []struct {
			Table    string `json:"table"`
			Equal    bool   `json:"equal"`
			Examples []struct{ Key, Kind string }
		} `json:"tables"`
	}
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &rep), out)
	require.False(t, rep.Equal)
	require.Len(t, rep.Tables, 1)
	require.Equal(t, "shop.customers", rep.Tables[0].Table)
	require.Contains(t, rep.Tables[0].Examples, struct{ Key, Kind string }{"7", "missing"})

	// `ardent status` exits 1 in attention, with its JSON all the same.
	out, code = s.ardent("status", "shop", "--format", "json")
	require.Equal(t, 1, code, out)
	var st e2estack.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	require.Equal(t, "attention", st.Stage)
	require.Contains(t, st.Error, "destination differs from source in shop.customers")
	out, code = s.ardent("status", "shop")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "the stream keeps running")
	require.Contains(t, out, "DIFFER")
	out, code = s.ardent("verify", "shop")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "id=7 missing")
	require.Contains(t, out, "1 of 2 tables differ at LSN")

	// The stream still applies while in attention.
	s.src.Exec(t, "app", `INSERT INTO shop.orders (customer_id, amount) SELECT 1, 2.5 FROM generate_series(1, 100)`)
	require.Eventually(t, func() bool {
		return sameRows(s.src.URL("app"), dest, "shop.orders")
	}, time.Minute, time.Second, "the stream stopped in attention: %s", s.workerOutput())

	// Repaired by hand: the next verification clears the attention.
	s.psql(dest, "-c", "INSERT INTO shop.customers VALUES (7, 'customer 7', 'c7@example.com')")
	out, code = s.ardent("verify", "shop")
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "streaming", 30*time.Second)

	// The periodic verification (every 20 s) shows in the status.
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, code, err := s.Command(ctx, nil, "status", "shop", "--format", "json")
		var st struct {
			Verify *struct {
				At     *time.Time `json:"at"`
				NextAt *time.Time `json:"next_at"`
			} `json:"verify"`
		}
		return err == nil && code == 0 && json.Unmarshal([]byte(out), &st) == nil && st.Verify != nil && st.Verify.NextAt != nil && st.Verify.At != nil
	}, time.Minute, time.Second)
	require.Contains(t, s.metrics(), `ardent_verify_table_equal{connector="shop",table="shop.customers"} 1`)

	// What cannot be verified exits 2 and says why.
	out, code = s.ardent("verify", "shop", "--table", "shop.nope")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "shop.nope")
	out, code = s.ardent("verify", "nosuch")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, `no connector named "nosuch"`)
	out, code = s.ardent("pause", "shop")
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "paused", 30*time.Second)
	out, code = s.ardent("verify", "shop")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "connector shop is paused")
	require.Contains(t, out, "`ardent resume shop` first")

	s.assertSecretAbsent(pw, "shop")
}
