// Package shape follows a source table's shape (its columns by attnum, their
// types and NOT NULL, its primary key) through the source's migrations, and
// decides what the destination does about each change.
//
// It keeps true: a column is identified by its attnum, never its name (a
// rename keeps the attnum, a drop and re-add gets a new one); a column is
// taken as dropped only from a complete view of the row (an INSERT, or the
// catalog), never from an UPDATE (wal2json leaves unchanged TOASTed columns
// out) or a DELETE; a type change is applied to the destination only when
// every value of the old type keeps its exact value in the new one
// (Widens), and anything else is left to the operator, never cast.
//
// It is pure (no database): the sink gives it what the stream and the
// destination's catalog say, and runs the statements it plans.
package shape
