package naming

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"orders", true},
		{"orders-eu_1", true},
		{"", false},
		{"Orders", false},
		{"1orders", false},
		{"a/b", false},
		{"a b", false},
		{"a\"b", false},
		{"ümlaut", false},
		{strings.Repeat("a", 40), true},
		{strings.Repeat("a", 41), false},
		{strings.Repeat("a", 500), false},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if tt.ok {
			require.NoError(t, err, tt.name)
		} else {
			require.Error(t, err, tt.name)
		}
	}
}

func ExampleSlotName() {
	fmt.Println(SlotName("orders-eu"))
	// Output: ardent_orders_eu
}

func TestSlotNameFitsIdentifier(t *testing.T) {
	require.Equal(t, "ardent_orders_eu", SlotName("orders-eu"))
	require.LessOrEqual(t, len(SlotName(strings.Repeat("a", MaxNameLen))), 63)
}
