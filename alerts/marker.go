package alerts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/recallbot/recallbot/alerts/alertmanager"
	"github.com/recallbot/recallbot/ledger"
)

// Every silence made from chat ends its comment with a marker: the
// group's ID (its first 16 digits) and a token of its own,
// "[recallbot 0123456789abcdef/9c41e2a0]". A silence whose creation got no
// answer in time (Alertmanager slow, not down) is looked for by its
// token: found, it is recorded as if the answer had come; not found,
// nothing was made. And /unsilence ends every live silence that carries
// the group's marker, recorded or not, so no silence made from chat stays
// hidden from it.

// lookupTimeout bounds a look for a silence after a creation that got no
// answer, and the looks of /unsilence.
const lookupTimeout = 10 * time.Second

// groupMark is the start of the markers of a group's silences.
func groupMark(groupID string) string { return "[recallbot " + groupID[:min(16, len(groupID))] + "/" }

// newMarker is a marker for one new silence of a group.
func newMarker(groupID string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return groupMark(groupID) + hex.EncodeToString(b[:]) + "]"
}

// live reports whether a silence as Alertmanager lists it has not ended.
func live(s alertmanager.Silence) bool { return s.Status == nil || s.Status.State != "expired" }

// findMarked looks for the live silence whose comment carries mark among
// those with the matcher first (all of a group's silences have its group
// labels), and reports whether it is there.
func (a *Actions) findMarked(ctx context.Context, first alertmanager.Matcher, mark string) (alertmanager.Silence, bool, error) {
	list, err := a.Alertmanager.List(ctx, first)
	if err != nil {
		return alertmanager.Silence{}, false, err
	}
	for _, s := range list {
		if live(s) && strings.Contains(s.Comment, mark) {
			return s, true, nil
		}
	}
	return alertmanager.Silence{}, false, nil
}

// marked lists the live silences made from chat for group g, recorded in
// the ledger or not.
func (a *Actions) marked(ctx context.Context, g ledger.AlertGroup, st State) ([]alertmanager.Silence, error) {
	var filters []alertmanager.Matcher
	if ms := matchers(st, 0); len(ms) > 0 {
		filters = ms[:1]
	}
	list, err := a.Alertmanager.List(ctx, filters...)
	if err != nil {
		return nil, err
	}
	var out []alertmanager.Silence
	for _, s := range list {
		if live(s) && strings.Contains(s.Comment, groupMark(g.ID)) {
			out = append(out, s)
		}
	}
	return out, nil
}

// covering lists the active silences in Alertmanager that silence one of
// the group's firing alerts, whoever made them, but for those in skip.
func (a *Actions) covering(ctx context.Context, st State, skip []string) ([]alertmanager.Silence, error) {
	list, err := a.Alertmanager.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []alertmanager.Silence
	for _, s := range list {
		if s.Status == nil || s.Status.State != "active" || containsID(skip, s.ID) {
			continue
		}
		for _, al := range st.Alerts {
			if al.Firing() && s.Matches(al.Labels) {
				out = append(out, s)
				break
			}
		}
	}
	return out, nil
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// describe names silences for a reply: their IDs, who made them and until
// when, in words safe in markdown.
func (a *Actions) describe(ss []alertmanager.Silence, locale string) string {
	var parts []string
	for _, s := range ss[:min(len(ss), 3)] {
		by := mdText(a.redact(cut(strings.TrimSuffix(s.CreatedBy, " via recallbot"), 60)))
		if locale == "en" {
			parts = append(parts, fmt.Sprintf("`%s` by %s until %s", s.ID, by, clock(s.EndsAt)))
		} else {
			parts = append(parts, fmt.Sprintf("`%s`（%s，至 %s）", s.ID, by, clock(s.EndsAt)))
		}
	}
	if len(ss) > 3 {
		parts = append(parts, fmt.Sprintf("+%d", len(ss)-3))
	}
	return strings.Join(parts, ", ")
}
