package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// The workflows' side of contract's typed names: a signal, query or update
// is registered through its contract value, so its name and payload type
// are the ones the CLI sends.

// Typed keys of the search attributes.
var (
	stageKey  = temporal.NewSearchAttributeKeyKeyword(contract.SearchAttrStage)
	sourceKey = temporal.NewSearchAttributeKeyKeyword(contract.SearchAttrSource)
)

// signalChan is a signal's channel that decodes its payload type.
type signalChan[T any] struct{ workflow.ReceiveChannel }

func signalChannel[T any](ctx workflow.Context, s contract.Signal[T]) signalChan[T] {
	return signalChan[T]{workflow.GetSignalChannel(ctx, s.Name)}
}

// takeAsync takes one pending signal: ok is false when none is pending. A
// signal whose payload does not decode into a T is dropped by the SDK (with
// a log line and a metric) and never taken: the SDK goes on to the next
// one. A signal without a payload is a zero T.
func (c signalChan[T]) takeAsync() (v T, ok bool) {
	ok = c.ReceiveAsync(&v)
	return v, ok
}

// drain takes every pending signal and returns how many decoded.
func (c signalChan[T]) drain() int {
	n := 0
	for {
		if _, ok := c.takeAsync(); !ok {
			return n
		}
		n++
	}
}

func setQuery[T any](ctx workflow.Context, q contract.Query[T], handler func() (T, error)) error {
	return workflow.SetQueryHandler(ctx, q.Name, handler)
}

func setUpdate[Req, Res any](ctx workflow.Context, u contract.Update[Req, Res], handler func(workflow.Context, Req) (Res, error),
	validator func(Req) error, description string) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, u.Name, handler,
		workflow.UpdateHandlerOptions{Validator: validator, Description: description})
}
