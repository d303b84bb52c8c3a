package source

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMajor(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  bool
	}{
		{"15.4 (Debian 15.4-1.pgdg120+1)", 15, false},
		{"14beta1", 14, false},
		{"9.6.24", 9, false},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMajor(tt.in)
		if tt.err {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}
