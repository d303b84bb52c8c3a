// Package e2e holds Ardent's end-to-end tests: a real Temporal dev server,
// real PostgreSQL clusters and real ardent-worker processes driven through
// the real ardent CLI, as an operator would. Killing worker processes here
// is how resume is proven.
package e2e
