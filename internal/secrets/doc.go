// Package secrets seals credentials with AES-256-GCM under a master key that
// can rotate.
//
// Ardent stores source and destination connection strings in its catalog and
// sends them through Temporal; both places must only ever see ciphertext. A
// Keyring holds the current key, which seals everything new, and the previous
// keys, which still open what they sealed until `ardent keys rotate` re-seals
// it under the current key.
//
// Invariants:
//   - A key is exactly 32 bytes. Its id is the first 8 hex characters of the
//     SHA-256 of those bytes, so an operator can tell which key a row was
//     sealed with without revealing it:
//     `printf %s "$ARDENT_MASTER_KEY" | base64 -d | sha256sum | cut -c1-8`.
//     The id is stored beside every ciphertext; opening picks the key by id.
//   - A sealed value is a fresh random 12-byte nonce followed by the GCM
//     ciphertext and tag. The caller's additional data (AAD) binds it to where
//     it lives (a connector's row and column, or "Temporal payload"), so a
//     ciphertext copied to another place fails to open.
//   - Nothing in this package ever formats key material or plaintext into an
//     error or a log line; Key and Secret print as redacted placeholders.
//   - A key file that group or others may read is refused, not warned about:
//     a warning scrolls past in a log while the key stays exposed.
package secrets
