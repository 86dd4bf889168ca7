package alerts

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// State is what the ledger keeps of a group's latest notification
// (ledger.AlertGroup.State): all a message is drawn from.
type State struct {
	Notification
	Route string `json:"route"`
}

// GroupID is a group's identity in a chat: the same for every notification
// of one group (Alertmanager's groupKey is its route and group labels),
// different in every chat it is shown in. Hex, 32 characters.
func GroupID(n Notification, chat ledger.Chat) string {
	src := n.Source
	if n.Source == SourceGrafana {
		src += ":" + strconv.FormatInt(n.OrgID, 10)
	}
	h := sha256.Sum256([]byte(src + "\x00" + n.GroupKey + "\x00" + chat.Key()))
	return hex.EncodeToString(h[:16])
}

// ShortIDLen is how much of a group's ID a message shows for /silence.
const ShortIDLen = 6

// ShortID is the part of a group's ID a message shows and commands take.
func ShortID(id string) string { return id[:min(len(id), ShortIDLen)] }

// newState is the state a notification asks for: its alerts firing first,
// then by start and fingerprint, so that their numbers in the message
// (what "/silence ID-2" names) do not move between identical repeats.
func newState(n Notification, route string) State {
	n.Alerts = slices.Clone(n.Alerts)
	slices.SortStableFunc(n.Alerts, func(a, b Alert) int {
		if a.Firing() != b.Firing() {
			if a.Firing() {
				return -1
			}
			return 1
		}
		if c := a.StartsAt.Compare(b.StartsAt); c != 0 {
			return c
		}
		return cmp.Compare(a.Fingerprint, b.Fingerprint)
	})
	return State{Notification: n, Route: route}
}

// Firing reports whether any alert of the group fires.
func (s State) Firing() bool {
	return slices.ContainsFunc(s.Alerts, Alert.Firing)
}

// Hash identifies what the chat must show of the state: each alert's
// status, labels, annotations and times, the group's labels and the
// truncation. Not the links: Grafana's carry a time range that moves with
// every notification, which would make every repeat a change.
func (s State) Hash() string {
	type alert struct {
		S, F   string
		L, A   map[string]string
		T0, T1 time.Time
	}
	v := struct {
		G, C map[string]string
		T    int64
		X    bool
		A    []alert
	}{G: s.GroupLabels, C: s.CommonLabels, T: s.Truncated, X: s.Cut}
	for _, a := range s.Alerts {
		v.A = append(v.A, alert{a.Status, a.Fingerprint, a.Labels, a.Annotations, a.StartsAt.UTC(), a.EndsAt.UTC()})
	}
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// notice is the ledger's record of a notification for one chat.
func notice(n Notification, route string, chat ledger.Chat, now time.Time) (ledger.AlertGroup, error) {
	st := newState(n, route)
	b, err := json.Marshal(st)
	if err != nil {
		return ledger.AlertGroup{}, err
	}
	g := ledger.AlertGroup{ID: GroupID(n, chat), Chat: chat, Route: route, Source: n.Source, GroupKey: n.GroupKey,
		State: b, Hash: st.Hash(), Firing: st.Firing(), Seen: now}
	for _, a := range st.Alerts {
		if a.Firing() {
			g.Live = append(g.Live, endedKey(a))
		} else {
			g.Done = append(g.Done, endedKey(a))
		}
	}
	return g, nil
}

// endedKey identifies one firing of an alert: its fingerprint (and
// labels) and start. A notification that says it fires after another
// said it resolved is stale (ledger.AlertGroup.Ended); a new firing of
// the alert starts anew.
func endedKey(a Alert) string {
	h := sha256.Sum256([]byte(a.Fingerprint + "\x00" + labelsHash(a.Labels) + "\x00" + a.StartsAt.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(h[:8])
}

// stateOf reads a group's state back.
func stateOf(g ledger.AlertGroup) (State, error) {
	var st State
	err := json.Unmarshal(g.State, &st)
	return st, err
}

// labelsHash identifies a label set, for alerts sent without a
// fingerprint.
func labelsHash(l map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(l)) {
		b.WriteString(k + "\x00" + l[k] + "\x00")
	}
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:8])
}
