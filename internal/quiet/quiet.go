// Package quiet keeps an outage from writing a log line every second.
package quiet

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// Log logs a repeated error when it changes, and otherwise once a minute
// with how often it repeated in between. The zero Log is ready to use.
type Log struct {
	mu      sync.Mutex
	last    string
	at      time.Time
	repeats int
}

// Warn logs err at warn level under msg, unless it is the same error as
// the last one logged less than a minute ago.
func (l *Log) Warn(log *zap.Logger, msg string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err.Error() == l.last && time.Since(l.at) < time.Minute {
		l.repeats++
		return
	}
	log.Warn(msg, zap.Error(err), zap.Int("repeats", l.repeats))
	l.last, l.at, l.repeats = err.Error(), time.Now(), 0
}

// Reset forgets the last error, so that its next occurrence is logged:
// call it when the operation succeeds again.
func (l *Log) Reset() {
	l.mu.Lock()
	l.last, l.repeats = "", 0
	l.mu.Unlock()
}
