package wal2json_test

import (
	"fmt"

	"github.com/ardent-cdc/ardent/internal/wal2json"
)

func ExampleDecoder_Decode() {
	d := wal2json.NewDecoder()
	var m wal2json.Message
	line := `{"action":"U","lsn":"0/151AB30","schema":"public","table":"t",` +
		`"columns":[{"name":"id","type":"bigint","value":3},{"name":"n","type":"numeric","value":1.50},{"name":"s","type":"text","value":null}],` +
		`"identity":[{"name":"id","type":"bigint","value":2}]}`
	if err := d.Decode([]byte(line), &m); err != nil {
		panic(err)
	}
	fmt.Printf("%c %s.%s at %s\n", m.Action, m.Change.Schema, m.Change.Table, m.LSN)
	for _, v := range m.Change.Columns {
		fmt.Printf("  %s %s = %q null=%v\n", v.Name, v.Type, v.Text, v.Null)
	}
	fmt.Printf("  old key %s = %s\n", m.Change.Identity[0].Name, m.Change.Identity[0].Text)
	// Output:
	// U public.t at 0/151AB30
	//   id bigint = "3" null=false
	//   n numeric = "1.50" null=false
	//   s text = "" null=true
	//   old key id = 2
}
