package main

// ListReport is `ardent list --format json`: one entry per connector, the
// workflow that speaks for it (as the text table), stage from the
// ArdentStage search attribute.
type ListReport struct {
	Connectors []ListEntry `json:"connectors"`
}

// ListEntry is one connector of ListReport.
type ListEntry struct {
	Name     string `json:"name"`
	Stage    string `json:"stage"`
	Source   string `json:"source"`
	Workflow string `json:"workflow"`
	// Status is the workflow's execution status: running, completed,
	// failed, terminated, continued_as_new...
	Status string `json:"status"`
}

func listReport(rows map[string]listRow, names []string) ListReport {
	rep := ListReport{Connectors: make([]ListEntry, 0, len(names))}
	for _, n := range names {
		r := rows[n]
		rep.Connectors = append(rep.Connectors, ListEntry{Name: r.name, Stage: r.stage, Source: r.source, Workflow: r.id, Status: r.status})
	}
	return rep
}
