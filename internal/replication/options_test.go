package replication

import (
	"testing"

	"github.com/jackc/pglogrepl"
	"github.com/stretchr/testify/assert"

	"github.com/ardent-cdc/ardent/internal/schema"
)

func sinkLSN(s string) (pglogrepl.LSN, error) { return pglogrepl.ParseLSN(s) }

func TestAddTables(t *testing.T) {
	tests := []struct {
		tables []schema.Table
		want   string
	}{
		{[]schema.Table{{Schema: "public", Name: "t"}}, `public.t`},
		{[]schema.Table{{Schema: "public", Name: "a"}, {Schema: "s", Name: "b"}}, `public.a,s.b`},
		{[]schema.Table{{Schema: `We"ird.Sch,ema`, Name: `ta,ble *x`}}, `We"ird\.Sch\,ema.ta\,ble\ \*x`},
		{[]schema.Table{{Schema: `back\slash`, Name: `*`}}, `back\\slash.\*`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, AddTables(tt.tables))
	}
}

func TestQuoteOption(t *testing.T) {
	assert.Equal(t, `'it''s'`, quoteOption("it's"))
}

func TestAddFilterSchemas(t *testing.T) {
	for _, tc := range []struct {
		tables  []schema.Table
		schemas []string
		want    string
	}{
		{[]schema.Table{{Schema: "s", Name: "a"}}, nil, `s.a`},
		{[]schema.Table{{Schema: "s", Name: "a"}, {Schema: "o", Name: "b"}}, []string{"s"}, `s.*,o.b`},
		{nil, []string{"s", "we.ird"}, `s.*,we\.ird.*`},
		{[]schema.Table{{Schema: "s", Name: "a"}}, []string{"s"}, `s.*`},
	} {
		if got := addFilter(tc.tables, tc.schemas); got != tc.want {
			t.Errorf("addFilter(%v, %v) = %q, want %q", tc.tables, tc.schemas, got, tc.want)
		}
	}
}
