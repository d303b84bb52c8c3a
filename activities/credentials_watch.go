package activities

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ardent-cdc/ardent/internal/catalog"
)

// credentialsWatch reads the credentials versions of every stream session
// of a worker in one catalog query per interval. One query per connector
// per interval was, on a worker streaming a hundred idle connectors, a
// catalog round trip every 100 ms and a twentieth of its CPU; one query
// per interval costs the same for one connector or a thousand. Its
// goroutine runs only while some session watches.
type credentialsWatch struct {
	mu       sync.Mutex
	sessions map[*watchedSession]struct{}
	running  bool
}

// watchedSession is one stream session: it ends (end) once its
// connector's version differs from the one it started with.
type watchedSession struct {
	name    string
	version int64
	end     func(error)
}

// add registers a session and starts the loop if it is not running; the
// returned stop unregisters it.
func (w *credentialsWatch) add(s *watchedSession, cat *catalog.Store, every time.Duration, log *slog.Logger) (stop func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sessions == nil {
		w.sessions = map[*watchedSession]struct{}{}
	}
	w.sessions[s] = struct{}{}
	if !w.running {
		w.running = true
		go w.loop(cat, every, log)
	}
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.sessions, s)
	}
}

// loop reads the versions every interval until no session is left.
func (w *credentialsWatch) loop(cat *catalog.Store, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		names := w.names()
		if names == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(every, 5*time.Second))
		versions, err := cat.CredentialsVersions(ctx, names)
		cancel()
		if err != nil {
			// A catalog that does not answer only delays the switch.
			log.Debug("read credentials versions", "connectors", len(names), "err", err)
			continue
		}
		w.mu.Lock()
		for s := range w.sessions {
			if v, ok := versions[s.name]; ok && v != s.version {
				s.end(fmt.Errorf("%w: version %d, the session runs with %d", errCredentialsChanged, v, s.version))
				delete(w.sessions, s)
			}
		}
		w.mu.Unlock()
	}
}

// names are the watched connectors, nil (and the loop marked stopped)
// when there are none.
func (w *credentialsWatch) names() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.sessions) == 0 {
		w.running = false
		return nil
	}
	seen := make(map[string]bool, len(w.sessions))
	names := make([]string, 0, len(w.sessions))
	for s := range w.sessions {
		if !seen[s.name] {
			seen[s.name] = true
			names = append(names, s.name)
		}
	}
	return names
}
