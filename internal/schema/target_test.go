package schema

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{in: ""},
		{in: "warehouse"},
		{in: "shop_*"},
		{in: `We"ird schema`},
		{in: "  ", err: "blank"},
		{in: "*", err: "at least one character"},
		{in: "a*b", err: "may only end"},
		{in: "a**", err: "may only end"},
		{in: "pg_catalog", err: "reserved"},
		{in: "_ardent", err: "reserved"},
		{in: "x\x00", err: "NUL"},
		{in: string(make([]byte, 64)) + "a", err: "NUL"},
		{in: "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd", err: "longer than 63"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTarget(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, Target(tc.in), got)
		})
	}
}

func TestTargetMaps(t *testing.T) {
	orders := Table{Schema: "public", Name: "orders"}
	part := Table{Schema: "sales", Name: "p1", Partition: true, Parent: "sales.p"}
	for _, tc := range []struct {
		target     Target
		orders, p1 string
		parent     string
	}{
		{"", "public.orders", "sales.p1", "sales.p"},
		{"wh", "wh.orders", "wh.p1", "wh.p"},
		{"src1_*", "src1_public.orders", "src1_sales.p1", "src1_sales.p"},
	} {
		assert.Equal(t, tc.orders, tc.target.Table(orders).FullName(), tc.target)
		got := tc.target.Table(part)
		assert.Equal(t, tc.p1, got.FullName(), tc.target)
		assert.Equal(t, tc.parent, got.Parent, tc.target)
	}
	assert.Equal(t, "public", orders.Schema, "the source table is not changed")
}

func TestTargetCheck(t *testing.T) {
	a, b := Table{Schema: "a", Name: "t"}, Table{Schema: "b", Name: "t"}
	require.NoError(t, Target("").Check([]Table{a, b}))
	require.NoError(t, Target("x_*").Check([]Table{a, b}))
	require.NoError(t, Target("wh").Check([]Table{a, {Schema: "b", Name: "u"}}))
	err := Target("wh").Check([]Table{a, b})
	require.ErrorContains(t, err, "maps both a.t and b.t to wh.t")
	long := Target("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij*")
	require.ErrorContains(t, long.Check([]Table{{Schema: "public", Name: "t"}}), "longer than PostgreSQL's 63 bytes")
}
