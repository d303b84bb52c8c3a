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
//   - The HTTP endpoint never decodes for a caller it cannot authenticate:
//     the codec token as a bearer token (CLI, scripts), a session cookie
//     from its login form (a browser; the token never sits in the Web UI's
//     configuration, which the UI hands to all its users), a Web UI user's
//     own access token that the Temporal frontend accepts for the request's
//     namespace (TemporalVerifier, refused at start when the frontend
//     accepts a made-up token), or, only when explicitly allowed for a
//     laptop's dev UI, the token as a path segment. With nothing to
//     authenticate with there is no endpoint at all (NewHandler returns
//     ErrNoToken), rather than one guarded by something weaker such as
//     "requests from loopback", which a reverse proxy on the same host
//     would defeat.
//   - The endpoint runs inside every worker (/codec/) and on its own
//     (`ardent codec-server`), from the same settings (Endpoint), so
//     support can decode when no worker runs.
package codec
