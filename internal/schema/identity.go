package schema

// IdentityStatement is the DDL that gives t a usable replica identity, or
// "" when t needs none or no statement can (no usable key and FULL not
// chosen: the operator must exclude the table, add a key, or choose FULL).
// A chosen FULL wins over a candidate index: it is the operator's decision.
func IdentityStatement(t Table, chooseFull bool) string {
	switch {
	case chooseFull && t.Identity != IdentityFull:
		return "ALTER TABLE " + t.Ident() + " REPLICA IDENTITY FULL;"
	case chooseFull || t.Identity != IdentityNone:
		return ""
	case t.CandidateIndex != "":
		return "ALTER TABLE " + t.Ident() + " REPLICA IDENTITY USING INDEX " + QuoteIdent(t.CandidateIndex) + ";"
	default:
		return ""
	}
}
