package wal2json

import (
	"errors"
	"fmt"

	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/jackc/pglogrepl"
)

// Actions of format-version 2.
const (
	ActionBegin    = 'B'
	ActionCommit   = 'C'
	ActionInsert   = 'I'
	ActionUpdate   = 'U'
	ActionDelete   = 'D'
	ActionTruncate = 'T'
	ActionMessage  = 'M'
)

// Message is one decoded wal2json message.
type Message struct {
	Action byte
	// XID is set with include-xids.
	XID uint32
	// LSN is the "lsn" field: for B and C the commit record's LSN, for a
	// change its own record, for M the message's record.
	LSN pglogrepl.LSN
	// NextLSN (B and C) is the end of the commit record: the position to
	// checkpoint once the transaction is applied.
	NextLSN pglogrepl.LSN
	// Timestamp is the commit time as PostgreSQL printed it, "" when absent.
	Timestamp string
	// Change is the row change of I, U, D and T messages.
	Change sink.Change
	// Transactional, Prefix and Content describe an M message.
	Transactional bool
	Prefix        string
	Content       string
}

// Decoder decodes messages. It interns names and types across messages, so
// reuse one per stream; it is not safe for concurrent use.
type Decoder struct {
	intern map[string]string
	// The previous message's names by position: consecutive changes to one
	// table repeat them, and comparing is cheaper than hashing.
	names, types, schemas, tables []string
	pk                            []string // the previous change's key names
	// Scratch reused across messages: unescaping, and per column array the
	// value texts and where each one lies.
	tmp   []byte
	vbuf  []byte
	spans []span
	// The previous change's number of columns and of identity columns.
	columnsLen, identityLen int
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder { return &Decoder{intern: make(map[string]string, 256)} }

// maxInterned bounds the intern table, since column names and types are
// few but a hostile source could send many.
const maxInterned = 1 << 14

func (d *Decoder) str(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	if len(d.intern) >= maxInterned {
		clear(d.intern)
	}
	s := string(b)
	d.intern[s] = s
	return s
}

// ErrSyntax is wrapped by every decoding error.
var ErrSyntax = errors.New("wal2json: malformed message")

// Decode decodes one message into m, overwriting it.
func (d *Decoder) Decode(data []byte, m *Message) error {
	*m = Message{}
	s := scanner{buf: data, d: d}
	if err := s.message(m); err != nil {
		return fmt.Errorf("%w at byte %d: %v", ErrSyntax, s.pos, err)
	}
	switch m.Action {
	case ActionInsert, ActionUpdate, ActionDelete, ActionTruncate:
		m.Change.Op = sink.Op(m.Action)
	case ActionBegin, ActionCommit, ActionMessage:
	case 0:
		return fmt.Errorf("%w: no action", ErrSyntax)
	default:
		return fmt.Errorf("%w: unknown action %q", ErrSyntax, m.Action)
	}
	return nil
}
