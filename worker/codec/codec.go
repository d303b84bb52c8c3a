package codec

import (
	"fmt"

	"github.com/ardent-cdc/ardent/internal/secrets"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	// EncodingEncrypted is the metadata "encoding" of a sealed payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the metadata entry holding the sealing key's id.
	MetadataKeyID = "encryption-key-id"
)

// payloadAAD binds sealed payloads to their purpose: a ciphertext taken from
// the catalog does not open as a payload, nor the other way round.
var payloadAAD = []byte("ardent/temporal-payload/v1")

// Codec is a converter.PayloadCodec sealing whole payloads (data and
// metadata) with a keyring.
type Codec struct {
	kr *secrets.Keyring
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec sealing under kr's current key.
func New(kr *secrets.Keyring) *Codec { return &Codec{kr: kr} }

// Encode seals each payload. Payloads already sealed are kept as they are.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if isEncrypted(p) {
			out[i] = p
			continue
		}
		raw, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode payload %d: marshal: %w", i, err)
		}
		sealed, err := c.kr.Seal(raw, payloadAAD)
		clear(raw)
		if err != nil {
			return nil, fmt.Errorf("encode payload %d: %w", i, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(sealed.KeyID),
			},
			Data: sealed.Ciphertext,
		}
	}
	return out, nil
}

// Decode opens sealed payloads and passes every other payload through.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !isEncrypted(p) {
			out[i] = p
			continue
		}
		keyID := string(p.GetMetadata()[MetadataKeyID])
		raw, err := c.kr.Open(secrets.Sealed{KeyID: keyID, Ciphertext: p.GetData()}, payloadAAD)
		if err != nil {
			return nil, fmt.Errorf("decode payload %d: %w", i, err)
		}
		var inner commonpb.Payload
		if err := proto.Unmarshal(raw, &inner); err != nil {
			return nil, fmt.Errorf("decode payload %d: unmarshal: %w", i, err)
		}
		out[i] = &inner
	}
	return out, nil
}

func isEncrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == EncodingEncrypted
}
