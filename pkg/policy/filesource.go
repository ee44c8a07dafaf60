package policy

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// FileSource serves the policies in a set of files and directories, reloading them (and the key
// files they name) when they change. A reload that fails keeps the last good snapshot and says why.
type FileSource struct {
	paths   []string
	logger  *slog.Logger
	current atomic.Pointer[Set]

	mu      sync.Mutex // serialises reloads
	lastErr string
}

// NewFileSource loads paths once; policies that fail to load at start are an error, so a broken
// configuration never starts serving. logger may be nil.
func NewFileSource(paths []string, logger *slog.Logger) (*FileSource, error) {
	set, err := LoadFiles(paths...)
	if err != nil {
		return nil, err
	}
	s := &FileSource{paths: paths, logger: logger}
	s.current.Store(set)
	return s, nil
}

// Policies returns the current snapshot. It never blocks.
func (s *FileSource) Policies() *Set { return s.current.Load() }

// Run reloads every interval until ctx ends. Reloading is a re-read and compile off the request
// path; the snapshot is swapped only when its fingerprint changed.
func (s *FileSource) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Reload()
		}
	}
}

// Reload re-reads the files now and reports whether the snapshot changed.
func (s *FileSource) Reload() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	set, err := LoadFiles(s.paths...)
	if err != nil {
		// Log a failing reload once, not every interval.
		if msg := err.Error(); msg != s.lastErr {
			s.lastErr = msg
			if s.logger != nil {
				s.logger.Error("reloading policies failed; keeping the last good ones", "error", msg)
			}
		}
		return false
	}
	s.lastErr = ""
	if set.Fingerprint() == s.current.Load().Fingerprint() {
		return false
	}
	s.current.Store(set)
	if s.logger != nil {
		s.logger.Info("policies reloaded", "policies", set.Len(), "fingerprint", set.Fingerprint()[:16])
	}
	return true
}
