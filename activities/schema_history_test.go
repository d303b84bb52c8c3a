package activities

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
)

// TestSchemaHistoryRefusesBadInput: a limit out of range or a table name
// that does not parse is refused for good (InvalidInput, not retried)
// before anything is opened (no catalog here).
func TestSchemaHistoryRefusesBadInput(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   contract.SchemaHistoryInput
		want string
	}{
		{"negative limit", contract.SchemaHistoryInput{Name: "shop", Limit: -1}, "limit -1: want 0 to 1000"},
		{"limit too large", contract.SchemaHistoryInput{Name: "shop", Limit: contract.MaxSchemaHistory + 1}, "limit 1001: want 0 to 1000"},
		{"table", contract.SchemaHistoryInput{Name: "shop", Table: "a.b.c"}, `table name "a.b.c"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := (&Tables{}).SchemaHistory(context.Background(), tt.in)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "%v", err)
			require.Equal(t, ErrTypeInvalidInput, app.Type())
			require.True(t, app.NonRetryable())
			require.Contains(t, app.Message(), tt.want)
		})
	}
}
