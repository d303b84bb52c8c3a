package contract

// Signal names a signal whose payload is a T. The CLI sends a T under Name
// and the workflow decodes a T from it: both go through the same value, so
// the name and the payload type cannot drift apart. T is a JSON object with
// optional fields, so a signal sent by hand without a payload is a zero T.
type Signal[T any] struct{ Name string }

// Query names a query whose answer is a T.
type Query[T any] struct{ Name string }

// Update names an update that takes a Req and returns a Res.
type Update[Req, Res any] struct{ Name string }
