package alerts

import (
	"context"
	"strings"

	"github.com/recallbot/recallbot/ledger"
)

// A message shows its group's short ID for /silence: the first six hex
// digits of the group's ID, more where another group of the chat starts
// with the same ones (thousands of groups in one chat share six digits
// now and then). The ID is chosen with the group's first message and kept
// (ledger.AlertGroup.Short), so it never changes under the eyes of the
// people who read it; a command that types a group's shown ID finds that
// group even when a newer group shares its start.

// displayID is the ID a group's messages show.
func displayID(g ledger.AlertGroup) string {
	if g.Short != "" {
		return g.Short
	}
	return ShortID(g.ID)
}

// shortID is the shortest start of g's ID, of ShortIDLen digits or more,
// that no other group of its chat shares.
func (r *Reconciler) shortID(ctx context.Context, g ledger.AlertGroup) string {
	for n := ShortIDLen; n < len(g.ID); n += 2 {
		gs, err := r.led.ChatAlerts(ctx, g.Chat, g.ID[:n])
		if err != nil {
			return g.ID[:n] // looked up again with its next message
		}
		if !shared(gs, g.ID) {
			return g.ID[:n]
		}
	}
	return g.ID
}

// shared reports whether groups other than id are among gs.
func shared(gs []ledger.AlertGroup, id string) bool {
	for _, o := range gs {
		if o.ID != id {
			return true
		}
	}
	return false
}

// pick is the group a typed ID names among the groups of the chat that
// start with it: the one that shows exactly it, else the only one.
func pick(gs []ledger.AlertGroup, typed string) (ledger.AlertGroup, bool) {
	for _, g := range gs {
		if g.Short != "" && strings.EqualFold(g.Short, typed) {
			return g, true
		}
	}
	if len(gs) == 1 {
		return gs[0], true
	}
	return ledger.AlertGroup{}, false
}

// longer are the IDs that tell apart the groups sharing a typed start, for
// a refusal to show: each the shortest start of its ID that no other of
// them shares, and longer than what was typed.
func longer(gs []ledger.AlertGroup, typed string) []string {
	var out []string
	for _, g := range gs {
		n := len(typed) + 1
		for ; n < len(g.ID); n++ {
			alone := true
			for _, o := range gs {
				if o.ID != g.ID && strings.HasPrefix(o.ID, g.ID[:n]) {
					alone = false
					break
				}
			}
			if alone {
				break
			}
		}
		out = append(out, g.ID[:min(n, len(g.ID))])
	}
	return out
}
