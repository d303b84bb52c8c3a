package rowsum_test

import (
	"fmt"

	"github.com/ardent-cdc/ardent/internal/rowsum"
)

// The query a psql-based test runs: the settings, then the digest query for
// an already-quoted relation. `psql -X -q -Atc` prints only the digest line.
func ExampleSQL() {
	fmt.Println(rowsum.Settings + "; " + rowsum.SQL(`"shop"."Orders"`))
	// Output: SET bytea_output = hex; SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3; SET TimeZone = 'UTC'; SET lc_monetary = 'C'; SELECT count(*) || ':' || coalesce(md5(string_agg(r, E'\n' ORDER BY r COLLATE "C")), '') FROM (SELECT md5(ROW(t.*)::text) AS r FROM ONLY "shop"."Orders" t) s
}
