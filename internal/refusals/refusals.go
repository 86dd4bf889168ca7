// Package refusals bounds what refusals write to an audit trail. Refused
// work is audited, but whoever causes it (an outsider without the HTTP
// token, a chat user typing faster than the command budget, a spread
// attack at the console's login) must not be able to fill the disk or
// bury the records that matter. So per minute the first refusal of each
// of a few sources is written in full, and every other one is only
// counted, into one summary record written once the minute is over.
// The HTTP API, the chat commands and the console's login share it.
package refusals

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// defaultSources is how many sources a minute are written in full unless a
// Counter says otherwise.
const defaultSources = 10

// Counter counts one kind of refusal per minute. The zero value is ready
// to use.
type Counter struct {
	// Sources is how many sources a minute have their first refusal
	// written in full; default 10. The rest are only counted.
	Sources int

	mu      sync.Mutex
	minute  time.Time      // the minute being counted
	sources map[string]int // refusals per source this minute
	others  int            // refusals from sources past Sources
}

// Minute is what a finished minute counted without writing it.
type Minute struct {
	Start time.Time
	// Counted is how many refusals were only counted.
	Counted int
	// BySource says which of the sources written in full sent how many
	// more: "intern001: 12" (of 15 counted, 3 came from sources past
	// Sources). Names and numbers only: the record is put in words when
	// read, in the reader's language.
	BySource string
}

// Record is the minute's summary record, as facts: how many more (its
// action says of what) in the minute from Start. It reads "12 more in the
// minute from 15:04" or "15:04 起一分钟内另有 12 次" when shown
// (recall.AuditWords).
func (m *Minute) Record(actor, action, trail string) ledger.AuditRecord {
	return ledger.AuditRecord{At: m.Start.Add(time.Minute), Actor: actor, Action: action, Trail: trail,
		About: &ledger.AuditAbout{Count: m.Counted, Since: m.Start}, Note: m.BySource}
}

// Note counts one refusal from source at now. It reports whether this one
// is to be written in full (the first of its source this minute, for up
// to Sources sources) and returns the summary of a finished minute to
// write, if any.
func (c *Counter) Note(now time.Time, source string) (full bool, summary *Minute) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := now.Truncate(time.Minute)
	if !m.Equal(c.minute) {
		summary = c.summaryLocked()
		c.minute, c.sources, c.others = m, map[string]int{}, 0
	}
	limit := c.Sources
	if limit <= 0 {
		limit = defaultSources
	}
	switch n, ok := c.sources[source]; {
	case ok:
		c.sources[source] = n + 1
	case len(c.sources) < limit:
		c.sources[source] = 1
		return true, summary
	default:
		c.others++
	}
	return false, summary
}

// Flush returns the summary of a minute that is over at now, if any; the
// bot calls it every few seconds, so a flood's last minute is written
// without waiting for the next refusal.
func (c *Counter) Flush(now time.Time) *Minute {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.minute.IsZero() || !now.Truncate(time.Minute).After(c.minute) {
		return nil
	}
	s := c.summaryLocked()
	c.minute, c.sources, c.others = time.Time{}, nil, 0
	return s
}

// summaryLocked is what c.minute only counted, or nil when it wrote every
// refusal in full.
func (c *Counter) summaryLocked() *Minute {
	extra, parts := c.others, []string{}
	srcs := make([]string, 0, len(c.sources))
	for s := range c.sources {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	for _, s := range srcs {
		if n := c.sources[s] - 1; n > 0 {
			extra += n
			parts = append(parts, fmt.Sprintf("%s: %d", s, n))
		}
	}
	if extra == 0 {
		return nil
	}
	return &Minute{Start: c.minute, Counted: extra, BySource: strings.Join(parts, ", ")}
}
