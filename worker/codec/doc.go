// Package codec encrypts every Temporal payload Ardent produces and serves
// the codec endpoint the Temporal Web UI decodes through.
//
// Workflow and activity inputs carry connection strings, and results, signals,
// queries, heartbeat details and failure messages can echo them. Temporal
// stores all of them in its history, readable by anyone with access to the
// server. The payload codec here seals each payload with the same keyring as
// the catalog (internal/secrets), so the server only ever holds ciphertext,
// and the failure converter moves failure messages and stack traces into an
// encoded payload (EncodeCommonAttributes) so they are sealed too.
//
// It is the one package besides the two mains that imports Temporal's
// converter packages, so the worker and the CLI dial with identical
// converters (ClientOptions).
//
// Invariants:
//   - An encrypted payload has metadata encoding "binary/encrypted" and the
//     id of the key that sealed it; Decode picks the key by id, so history
//     written before a key rotation still decodes while the old key is in the
//     keyring.
//   - Decode passes through any payload that is not "binary/encrypted": a
//     signal sent as plain JSON by `temporal workflow signal` or the Web UI
//     is accepted. Encode never encrypts twice.
//   - The HTTP endpoint never decodes for a caller without the bearer token;
//     with no token configured there is no endpoint at all (NewHandler
//     returns ErrNoToken), rather than one guarded by something weaker such
//     as "requests from loopback", which a reverse proxy on the same host
//     would defeat.
package codec
