package schema

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIdentityStatement(t *testing.T) {
	base := Table{Schema: "Sales", Name: `my "t"`}
	with := func(id Identity, cand string) Table { x := base; x.Identity = id; x.CandidateIndex = cand; return x }
	tests := []struct {
		name string
		t    Table
		full bool
		want string
	}{
		{"pk", with(IdentityPrimaryKey, ""), false, ""},
		{"index", with(IdentityIndex, ""), false, ""},
		{"full", with(IdentityFull, ""), false, ""},
		{"candidate", with(IdentityNone, "u"), false, `ALTER TABLE "Sales"."my ""t""" REPLICA IDENTITY USING INDEX "u";`},
		{"none", with(IdentityNone, ""), false, ""},
		{"none chose full", with(IdentityNone, ""), true, `ALTER TABLE "Sales"."my ""t""" REPLICA IDENTITY FULL;`},
		{"candidate chose full", with(IdentityNone, "u"), true, `ALTER TABLE "Sales"."my ""t""" REPLICA IDENTITY FULL;`},
		{"pk chose full", with(IdentityPrimaryKey, ""), true, `ALTER TABLE "Sales"."my ""t""" REPLICA IDENTITY FULL;`},
		{"already full", with(IdentityFull, ""), true, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, IdentityStatement(tt.t, tt.full), tt.name)
	}
}

func ExampleIdentityStatement() {
	t := Table{Schema: "public", Name: "Orders", Identity: IdentityNone, CandidateIndex: "orders_code_key"}
	fmt.Println(IdentityStatement(t, false))
	// Output: ALTER TABLE "public"."Orders" REPLICA IDENTITY USING INDEX "orders_code_key";
}
