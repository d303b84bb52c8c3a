package contract

// StageTerminated is never a workflow's stage: the CLI reports it for a
// connector whose workflow was terminated (`temporal workflow terminate`,
// the Web UI's button) while the catalog still holds it live. Nothing ran
// the drop, so its replication slot is still on the source, holding WAL,
// until `ardent drop NAME --force` removes it.
const StageTerminated Stage = "terminated"
