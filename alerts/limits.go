package alerts

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"math"
	"slices"
	"unicode/utf8"
)

// Bounds on what recallbot keeps of a notification: far above what
// Alertmanager or Grafana send, low enough that nothing unbounded reaches
// the ledger or a message. A notification past them is cut to them, not
// refused: Alertmanager drops a notification answered 4xx for good, and
// the group's message must still say that it fires. The message then says
// it was cut (Notification.Cut).
const (
	maxAlerts     = 5000    // alerts kept, the firing ones first; the rest count as truncated
	maxLabels     = 128     // labels, or annotations, kept per alert and per group
	maxTextBytes  = 8 << 10 // bytes of a label's or an annotation's value
	maxNameLength = 1 << 10 // bytes of a label's or an annotation's name, and of a receiver's
	maxGroupKey   = 4 << 10 // bytes of a group key; a longer one is shortened by its hash
)

// keepFirst are the labels and annotations kept before the rest when a
// map has more than maxLabels: those a message and a silence read.
var keepFirst = []string{"alertname", "severity", "summary", "description", "message", "instance", "job"}

// cutToLimits cuts n to the bounds above, and notes in n.Cut whether it
// had to.
func cutToLimits(n *Notification) {
	if len(n.Alerts) > maxAlerts {
		slices.SortStableFunc(n.Alerts, func(a, b Alert) int {
			if a.Firing() == b.Firing() {
				return 0
			}
			if a.Firing() {
				return -1
			}
			return 1
		})
		dropped := int64(len(n.Alerts) - maxAlerts)
		n.Alerts = n.Alerts[:maxAlerts:maxAlerts]
		n.Truncated = addCapped(n.Truncated, dropped)
		n.Cut = true
	}
	for _, m := range []*map[string]string{&n.GroupLabels, &n.CommonLabels, &n.CommonAnnotations} {
		n.Cut = cutMap(m) || n.Cut
	}
	for i := range n.Alerts {
		n.Cut = cutMap(&n.Alerts[i].Labels) || n.Cut
		n.Cut = cutMap(&n.Alerts[i].Annotations) || n.Cut
	}
}

// cutMap cuts a label set or annotations to maxLabels entries (keepFirst,
// then by name), names to maxNameLength and values to maxTextBytes, and
// reports whether it cut anything.
func cutMap(m *map[string]string) bool {
	over := len(*m) > maxLabels
	for k, v := range *m {
		over = over || len(k) > maxNameLength || len(v) > maxTextBytes
	}
	if !over {
		return false
	}
	names := slices.SortedFunc(maps.Keys(*m), func(a, b string) int {
		ia, ib := slices.Index(keepFirst, a), slices.Index(keepFirst, b)
		if ia < 0 {
			ia = len(keepFirst)
		}
		if ib < 0 {
			ib = len(keepFirst)
		}
		return cmp.Or(cmp.Compare(ia, ib), cmp.Compare(a, b))
	})
	out := make(map[string]string, min(len(names), maxLabels))
	for _, k := range names {
		if len(out) == maxLabels {
			break
		}
		name := cutBytes(k, maxNameLength)
		if _, taken := out[name]; taken {
			continue // two long names alike in their first KiB: the first stays
		}
		out[name] = cutBytes((*m)[k], maxTextBytes)
	}
	*m = out
	return true
}

// cutBytes cuts s to at most n bytes on a character boundary, ending it
// with "…" when it cut.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	end := n - len("…")
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + "…"
}

// boundKey shortens a group key past maxGroupKey to its start and the hash
// of the whole: two keys that differ anywhere stay two groups.
func boundKey(k string) string {
	if len(k) <= maxGroupKey {
		return k
	}
	h := sha256.Sum256([]byte(k))
	return cutBytes(k, maxGroupKey-2*len(h)) + hex.EncodeToString(h[:])
}

// onePerFingerprint keeps one alert per fingerprint and label set: an
// alert listed several times in a notification is one alert, firing if
// any copy fires. (Alerts of one fingerprint and other labels are a
// sender's collision, and stay apart.)
func onePerFingerprint(as []Alert) []Alert {
	at := make(map[string]int, len(as))
	out := as[:0]
	for _, a := range as {
		id := a.Fingerprint + "\x00" + labelsHash(a.Labels)
		i, seen := at[id]
		switch {
		case !seen:
			at[id] = len(out)
			out = append(out, a)
		case a.Firing() && !out[i].Firing():
			out[i] = a
		}
	}
	return out
}

// addCapped is a+b for counts that cannot be negative, without overflow.
func addCapped(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
