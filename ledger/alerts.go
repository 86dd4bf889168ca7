package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// An AlertGroup is one alert group (an Alertmanager or Grafana group key)
// shown in one chat: the state its latest notification asked for, and the
// one message that shows it. The HTTP receiver writes the wanted state
// (PutAlert) and answers; a worker brings the chat in line, one DingTalk
// call at a time, each written ahead (StartAlertSend) and settled with the
// group in one commit (UpdateAlert). A group is worked on by one instance
// at a time (TakeAlert, under the owner's lease in LeaseNS), so two
// instances never both send a group's first message.

// AlertGroup is an alert group in one chat.
type AlertGroup struct {
	ID       string `json:"id"` // hex, derived from Source, GroupKey and Chat by package alerts
	Chat     Chat   `json:"chat"`
	Route    string `json:"route"` // the configured route that sent it here
	Source   string `json:"source"`
	GroupKey string `json:"group_key"`
	// State is the latest notification's group, in package alerts' form;
	// Hash identifies it; Firing is whether any of its alerts fires.
	State   json.RawMessage `json:"state"`
	Hash    string          `json:"hash"`
	Firing  bool            `json:"firing"`
	Seen    time.Time       `json:"seen"`    // when the latest notification came
	Version uint64          `json:"version"` // goes up whenever the message must change
	Created time.Time       `json:"created"`

	// What the chat shows.
	Shown uint64 `json:"shown"`           // the version the chat shows (or gave up on)
	Entry uint64 `json:"entry,omitempty"` // the message that shows it; 0: none
	Key   string `json:"key,omitempty"`   // its processQueryKey
	Card  string `json:"card,omitempty"`  // its cardBizId, when it is an interactive card
	// Closed: the group resolved and that was settled as configured; a
	// new firing starts a new message.
	Closed   bool           `json:"closed,omitempty"`
	Inflight *AlertSend     `json:"inflight,omitempty"` // a send written ahead whose outcome is not settled
	Retire   []uint64       `json:"retire,omitempty"`   // superseded messages still to recall
	Silences []AlertSilence `json:"silences,omitempty"`
	Note     string         `json:"note,omitempty"` // the last failure, in words
	Owner    string         `json:"owner,omitempty"`
	Updated  time.Time      `json:"updated"`

	// Unseen: a firing state came that the chat has not shown (PutAlert
	// sets it; showing the latest version clears it). A group that fired
	// and resolved before its message went out still gets one: the team
	// must see that something happened.
	Unseen bool `json:"unseen,omitempty"`
	// Short is the ID the group's messages show: the start of ID, longer
	// where another group of the chat starts alike. Set with its first
	// message, it does not change.
	Short string `json:"short,omitempty"`
	// Moved: the group's notifications now go to other chats (its route
	// changed). Its message here is brought to its final state and the
	// group closed; a notification routed here again clears it.
	Moved bool `json:"moved,omitempty"`
	// Ended are alerts seen resolved lately (EndedKey), with when: a
	// notification that says one of them fires is older than the one that
	// resolved it (two peers racing, a retry), and is stale.
	Ended []AlertEnd `json:"ended,omitempty"`

	// PutAlert's input only: the EndedKeys of the notification's firing
	// (Live) and resolved (Done) alerts.
	Live []string `json:"-"`
	Done []string `json:"-"`
	// Stale is PutAlert's answer that the notification was older than
	// what the group has seen, and was ignored.
	Stale bool `json:"-"`
}

// AlertEnd is an alert seen resolved: its EndedKey and when.
type AlertEnd struct {
	Key string    `json:"k"`
	At  time.Time `json:"at"`
}

// StaleWindow is how long after an alert was seen resolved a notification
// that says it fires (with the same start) is taken as stale. Alertmanager
// retries a notification for up to its group_interval (5 minutes by
// default); an alert the source sends again later with its old start time
// is taken as firing again.
const StaleWindow = 10 * time.Minute

// maxEnded bounds AlertGroup.Ended.
const maxEnded = 5000

// EndSilences drops the silences that ended by now; it reports whether
// there were any, and then the message must change (the version goes up).
func (g *AlertGroup) EndSilences(now time.Time) bool {
	n := len(g.Silences)
	g.Silences = slices.DeleteFunc(g.Silences, func(s AlertSilence) bool { return !s.Until.After(now) })
	if len(g.Silences) == n {
		return false
	}
	g.Version++
	return true
}

// Wake is when the group's message must be drawn again though no
// notification comes: the end of the first of its silences; zero for
// none. AlertsToWake lists the groups whose time has come.
func (g AlertGroup) Wake() time.Time {
	var w time.Time
	for _, s := range g.Silences {
		if w.IsZero() || s.Until.Before(w) {
			w = s.Until
		}
	}
	return w
}

// AlertSend is a message written ahead for a group.
type AlertSend struct {
	Entry   uint64 `json:"entry"`
	Version uint64 `json:"version"`        // the version it shows
	Card    string `json:"card,omitempty"` // its cardBizId, for a card
	// Replaces is the message it supersedes: recalled once it is sent.
	Replaces uint64 `json:"replaces,omitempty"`
	// Resolved: the version it shows has no firing alert (or the group
	// was routed elsewhere), so once it is sent the group is closed.
	Resolved bool `json:"resolved,omitempty"`
	// Short is the ID it shows, for a group's first message
	// (AlertGroup.Short).
	Short string `json:"short,omitempty"`
}

// AlertSilence is a silence made from chat for a group, or one of its
// alerts.
type AlertSilence struct {
	ID      string    `json:"id"`              // Alertmanager's silenceID
	Alert   int       `json:"alert,omitempty"` // the alert's number in the message (1-based); 0: the whole group
	By      string    `json:"by"`              // who, as chat shows them
	Until   time.Time `json:"until"`
	Comment string    `json:"comment,omitempty"`
	Ack     bool      `json:"ack,omitempty"` // made by /ack
}

// Due reports whether the group has work to do: a version not shown, a
// send in flight, or messages to recall.
func (g AlertGroup) Due() bool { return g.Version != g.Shown || g.Inflight != nil || len(g.Retire) > 0 }

// AlertStateError is a change the group's state refuses: another instance
// works on it, or a send is in flight already.
type AlertStateError struct{ ID, Why string }

func (e *AlertStateError) Error() string {
	return fmt.Sprintf("ledger: alert group %.12s: %s", e.ID, e.Why)
}

// maxChatAlerts bounds ChatAlerts; maxKeyAlerts bounds KeyAlerts (a route
// to 100 users, and a few chats it was routed to before).
const (
	maxChatAlerts = 20
	maxKeyAlerts  = 200
)

// alertKeyOf is a source's group key as the ledger indexes it (KeyAlerts):
// its hash, hex.
func alertKeyOf(source, groupKey string) string {
	h := sha256.Sum256([]byte(source + "\x00" + groupKey))
	return hex.EncodeToString(h[:16])
}

// checkAlert validates a notification for PutAlert.
func checkAlert(n AlertGroup) error {
	switch {
	case n.ID == "" || len(n.ID) > 128 || strings.ContainsAny(n.ID, "\x00 :"):
		return errors.New("an alert group needs an id of 1 to 128 bytes without spaces, colons or NUL")
	case n.Hash == "":
		return errors.New("an alert group needs the hash of its state")
	case !json.Valid(n.State):
		return errors.New("an alert group's state must be JSON")
	}
	return n.Chat.Validate()
}

// putAlert is what PutAlert makes of the group as stored (found false: a
// new one) and a notification. A stale notification (one of its firing
// alerts was seen resolved within StaleWindow) leaves the group as it was
// and is answered Stale.
func putAlert(old AlertGroup, found bool, n AlertGroup, now time.Time) AlertGroup {
	if !found {
		g := AlertGroup{ID: n.ID, Chat: n.Chat, Route: n.Route, Source: n.Source, GroupKey: n.GroupKey, State: n.State, Hash: n.Hash,
			Firing: n.Firing, Seen: norm(n.Seen), Version: 1, Created: norm(now), Updated: norm(now), Unseen: n.Firing}
		g.Ended = ended(nil, n.Done, n.Seen)
		return g
	}
	g := old
	g.Ended = slices.DeleteFunc(slices.Clone(g.Ended), func(e AlertEnd) bool { return n.Seen.Sub(e.At) > StaleWindow })
	if len(g.Ended) > 0 && len(n.Live) > 0 {
		live := make(map[string]bool, len(n.Live))
		for _, k := range n.Live {
			live[k] = true
		}
		for _, e := range g.Ended {
			if live[e.Key] {
				old.Stale = true
				return old
			}
		}
	}
	g.Ended = ended(g.Ended, n.Done, n.Seen)
	if n.Hash != g.Hash {
		g.State, g.Hash, g.Firing = n.State, n.Hash, n.Firing
		g.Version++
		g.Unseen = g.Unseen || n.Firing
	}
	if g.Moved { // routed here again: the chat must show it as it is
		g.Moved = false
		g.Version++
		g.Unseen = g.Unseen || n.Firing
	}
	g.EndSilences(n.Seen)
	if n.Route != "" {
		g.Route = n.Route
	}
	if n.Seen.After(g.Seen) {
		g.Seen = norm(n.Seen)
	}
	g.Updated = norm(now)
	return g
}

// ended is list with the keys of done added, seen at.
func ended(list []AlertEnd, done []string, at time.Time) []AlertEnd {
	have := make(map[string]bool, len(list))
	for _, e := range list {
		have[e.Key] = true
	}
	for _, k := range done {
		if !have[k] {
			have[k] = true
			list = append(list, AlertEnd{Key: k, At: norm(at)})
		}
	}
	if len(list) > maxEnded {
		list = list[len(list)-maxEnded:]
	}
	return list
}

// takeAlert is TakeAlert's decision: whether by takes g, given whether its
// owner's lease is alive.
func takeAlert(g AlertGroup, by Claimant, alive func(string) bool) bool {
	return g.Owner == by.Owner || g.Owner == "" || !alive(g.Owner)
}

// startAlertSend checks that owner may write send ahead for g and returns
// the group after.
func startAlertSend(g AlertGroup, owner string, send AlertSend, now time.Time) (AlertGroup, error) {
	switch {
	case g.Owner != owner:
		return g, &AlertStateError{g.ID, "another instance (" + g.Owner + ") works on it"}
	case g.Inflight != nil:
		return g, &AlertStateError{g.ID, fmt.Sprintf("entry %d is in flight already", g.Inflight.Entry)}
	}
	s := send
	g.Inflight = &s
	g.Updated = norm(now)
	return g, nil
}

// updateAlert applies fn to g for owner.
func updateAlert(g AlertGroup, owner string, fn func(*AlertGroup) error, now time.Time) (AlertGroup, error) {
	if owner != "" && g.Owner != owner {
		return g, &AlertStateError{g.ID, "another instance (" + g.Owner + ") works on it"}
	}
	if fn != nil {
		if err := fn(&g); err != nil {
			return g, err
		}
	}
	g.Retire = slices.Compact(g.Retire)
	g.Updated = norm(now)
	return g, nil
}

// alertEntry is a group's pending entry as both stores write it.
func alertEntry(e Entry, id string) (Entry, error) {
	e.Alert = id
	return prepare(e)
}

// alertChatKey is a group's place in its chat's index: chat key, NUL, id.
func alertChatKey(c Chat, id string) string { return c.Key() + "\x00" + id }

// prunable reports whether a group may go: closed, idle, and last changed
// before cutoff.
func (g AlertGroup) prunable(cutoff time.Time) bool {
	return g.Closed && !g.Due() && g.Updated.Before(cutoff)
}
