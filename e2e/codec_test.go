package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// checkCodecEndpoint takes the onboarding's encrypted input payload from the
// raw history and posts it to the live worker's codec endpoint, as the Web
// UI does: with the token it decodes to the input, without it is refused;
// even decoded, the input shows no password.
func (s *stack) checkCodecEndpoint(t *testing.T, name, secret string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	raw, err := s.temporal.CLI(ctx, "workflow", "show", "--workflow-id", "onboarding-"+name, "--output", "json")
	require.NoError(t, err, raw)
	var hist struct {
		Events []struct {
			Attrs *struct {
				Input struct {
					Payloads []json.RawMessage `json:"payloads"`
				} `json:"input"`
			} `json:"workflowExecutionStartedEventAttributes"`
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &hist))
	require.NotEmpty(t, hist.Events)
	require.NotNil(t, hist.Events[0].Attrs)
	payload := hist.Events[0].Attrs.Input.Payloads[0]
	require.Contains(t, string(payload), base64.StdEncoding.EncodeToString([]byte("binary/encrypted")), "the input is stored encrypted")

	workers := s.Workers()
	addr := workerAddr(workers[len(workers)-1])
	body, _ := json.Marshal(map[string]any{"payloads": []json.RawMessage{payload}})
	post := func(token string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/codec/decode", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := post("")
	require.Equal(t, http.StatusUnauthorized, code, "no token must be refused")
	code, _ = post("wrong-token")
	require.Equal(t, http.StatusUnauthorized, code, "a wrong token must be refused")
	code, out := post(s.codecToken)
	require.Equal(t, http.StatusOK, code, out)
	var decoded struct {
		Payloads []struct {
			Data string `json:"data"`
		} `json:"payloads"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &decoded))
	require.Len(t, decoded.Payloads, 1)
	plain, err := base64.StdEncoding.DecodeString(decoded.Payloads[0].Data)
	require.NoError(t, err)
	require.Contains(t, string(plain), `"name":"`+name+`"`, "decoded payload is the onboarding input")
	// What the Web UI shows decoded still holds no password: the CLI sealed
	// the URLs inside the payload.
	require.NotContains(t, string(plain), secret, "the decoded input shows the password")
	require.Contains(t, string(plain), "ardent-sealed:v1:", "the URLs travel sealed")
}
