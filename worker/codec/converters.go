package codec

import (
	"github.com/ardent-cdc/ardent/internal/secrets"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// DataConverter is Temporal's default converter with every payload sealed
// by kr.
func DataConverter(kr *secrets.Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), New(kr))
}

// FailureConverter moves failure messages and stack traces into an encoded
// attributes payload converted by dc. dc must be the sealing DataConverter,
// otherwise the "encoded" attributes are plain JSON.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}

// ClientOptions returns opts with Ardent's data and failure converters set,
// so the worker and the CLI dial identically.
func ClientOptions(kr *secrets.Keyring, opts client.Options) client.Options {
	dc := DataConverter(kr)
	opts.DataConverter = dc
	opts.FailureConverter = FailureConverter(dc)
	return opts
}
