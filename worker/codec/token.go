package codec

import (
	"fmt"
	"os"
	"strings"

	"github.com/ardent-cdc/ardent/internal/secrets"
)

// LoadToken is the codec token: token (ARDENT_CODEC_TOKEN) or the content
// of file (ARDENT_CODEC_TOKEN_FILE), never both; empty when neither is
// set. A file readable by its group or others is refused, as the master
// key's is: whoever reads the token decodes every payload.
func LoadToken(token, file string) (secrets.Secret, error) {
	switch {
	case token != "" && file != "":
		return "", fmt.Errorf("codec token: set ARDENT_CODEC_TOKEN or ARDENT_CODEC_TOKEN_FILE, not both")
	case file == "":
		return secrets.Secret(token), nil
	}
	st, err := os.Stat(file)
	if err != nil {
		return "", fmt.Errorf("codec token file: %w", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("codec token file %s is readable by others (mode %04o): chmod 600 %s", file, perm, file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("codec token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("codec token file %s is empty", file)
	}
	return secrets.Secret(tok), nil
}
