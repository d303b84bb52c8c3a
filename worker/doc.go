// Command ardent-worker runs Ardent's workflows and activities: it loads the
// configuration once, opens the catalog (migrating it), dials Temporal with
// the encrypting payload codec, registers everything explicitly, and serves
// Prometheus metrics and the Web UI's codec endpoint over HTTP. It exits
// cleanly on SIGINT/SIGTERM, letting running activities see cancellation.
package main
