package main

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
)

// The CLI's side of contract's typed names: a signal, query or update goes
// through its contract value, so its name and payload type are the ones
// the workflow registered.

// Typed keys of the search attributes the CLI sets when it starts a
// workflow.
var (
	stageKey  = temporal.NewSearchAttributeKeyKeyword(contract.SearchAttrStage)
	sourceKey = temporal.NewSearchAttributeKeyKeyword(contract.SearchAttrSource)
)

func sendSignal[T any](ctx context.Context, tc client.Client, workflowID string, s contract.Signal[T], v T) error {
	return tc.SignalWorkflow(ctx, workflowID, "", s.Name, v)
}

// decodeError is an answer that came back but did not decode.
type decodeError struct {
	what string
	err  error
}

func (e *decodeError) Error() string { return fmt.Sprintf("decode %s: %v", e.what, e.err) }
func (e *decodeError) Unwrap() error { return e.err }

func queryWorkflow[T any](ctx context.Context, tc client.Client, workflowID string, q contract.Query[T]) (v T, err error) {
	enc, err := tc.QueryWorkflow(ctx, workflowID, "", q.Name)
	if err != nil {
		return v, err
	}
	if err := enc.Get(&v); err != nil {
		return v, &decodeError{what: q.Name + " of " + workflowID, err: err}
	}
	return v, nil
}

// updateWorkflow sends an update and waits for its result.
func updateWorkflow[Req, Res any](ctx context.Context, tc client.Client, workflowID string, u contract.Update[Req, Res], req Req) (res Res, err error) {
	h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: u.Name, Args: []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return res, err
	}
	err = h.Get(ctx, &res)
	return res, err
}
