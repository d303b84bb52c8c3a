package codec

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const password = "Zq7-unique-pa55word-9xK"

type onboardInput struct {
	Name      string `json:"name"`
	SourceURL string `json:"source_url"`
}

func keyring(t *testing.T, fill byte, previous ...byte) *secrets.Keyring {
	t.Helper()
	key := func(b byte) secrets.Key {
		k, err := secrets.NewKey(bytes.Repeat([]byte{b}, secrets.KeySize))
		require.NoError(t, err)
		return k
	}
	var old []secrets.Key
	for _, p := range previous {
		old = append(old, key(p))
	}
	kr, err := secrets.NewKeyring(key(fill), old...)
	require.NoError(t, err)
	return kr
}

func input() onboardInput {
	return onboardInput{Name: "shop", SourceURL: "postgres://ardent:" + password + "@db:5432/shop"}
}

func TestDataConverterRoundTrip(t *testing.T) {
	dc := DataConverter(keyring(t, 1))
	p, err := dc.ToPayload(input())
	require.NoError(t, err)
	assert.Equal(t, EncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))
	assert.Len(t, p.Metadata, 2, "only encoding and key id are visible")
	raw, err := proto.Marshal(p)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), password)
	assert.NotContains(t, string(raw), "json/plain", "the inner encoding is sealed too")

	var got onboardInput
	require.NoError(t, dc.FromPayload(p, &got))
	assert.Equal(t, input(), got)
}

func TestDecode(t *testing.T) {
	plainJSON, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"reason": "applied"})
	require.NoError(t, err)
	underOld, err := New(keyring(t, 1)).Encode([]*commonpb.Payload{plainJSON})
	require.NoError(t, err)

	tests := []struct {
		name    string
		kr      *secrets.Keyring
		in      *commonpb.Payload
		wantErr error
	}{
		{"plain JSON passes through", keyring(t, 1), plainJSON, nil},
		{"same key", keyring(t, 1), underOld[0], nil},
		{"old key after rotation", keyring(t, 2, 1), underOld[0], nil},
		{"key retired", keyring(t, 2), underOld[0], secrets.ErrUnknownKey},
		{"tampered", keyring(t, 1), tamper(underOld[0]), secrets.ErrOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := New(tc.kr).Decode([]*commonpb.Payload{tc.in})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, out, 1)
			assert.True(t, proto.Equal(plainJSON, out[0]))
		})
	}
}

func tamper(p *commonpb.Payload) *commonpb.Payload {
	c := proto.Clone(p).(*commonpb.Payload)
	c.Data[len(c.Data)/2] ^= 0xff
	return c
}

func TestEncodeDoesNotEncryptTwice(t *testing.T) {
	c := New(keyring(t, 1))
	plain, err := converter.GetDefaultDataConverter().ToPayload("x")
	require.NoError(t, err)
	once, err := c.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	twice, err := c.Encode(once)
	require.NoError(t, err)
	assert.True(t, proto.Equal(once[0], twice[0]))
}

func TestFailureMessagesAreEncrypted(t *testing.T) {
	kr := keyring(t, 1)
	dc := DataConverter(kr)
	fc := FailureConverter(dc)

	// What an activity returns when a driver error echoes a connection string.
	cause := errors.New("dial postgres://ardent:" + password + "@db:5432/shop: refused")
	appErr := temporal.NewNonRetryableApplicationError("connect source: "+cause.Error(), "ConnectFailed", cause, input())

	failure := fc.ErrorToFailure(appErr)
	require.NotNil(t, failure)
	raw, err := proto.Marshal(failure)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), password, "the failure as the server stores it")
	assert.Equal(t, "Encoded failure", failure.GetMessage())
	require.NotNil(t, failure.GetEncodedAttributes())
	assert.Equal(t, EncodingEncrypted, string(failure.GetEncodedAttributes().GetMetadata()[converter.MetadataEncoding]))
	assert.Equal(t, "ConnectFailed", failure.GetApplicationFailureInfo().GetType(), "the type stays readable for retry policies")

	// FailureToError decodes in place: give each reader its own copy.
	back := fc.FailureToError(proto.Clone(failure).(*failurepb.Failure))
	assert.Contains(t, back.Error(), password, "whoever holds the key reads the message")
	var backApp *temporal.ApplicationError
	require.ErrorAs(t, back, &backApp)
	var details onboardInput
	require.NoError(t, backApp.Details(&details))
	assert.Equal(t, input(), details)

	// A reader without the key (the server, or the UI without the codec)
	// sees neither message nor details.
	stranger := FailureConverter(converter.GetDefaultDataConverter()).FailureToError(proto.Clone(failure).(*failurepb.Failure))
	assert.NotContains(t, stranger.Error(), password)
}
