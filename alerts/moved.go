package alerts

import (
	"context"
	"slices"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
)

// A group's route may change (db-oncall moved from one chat to another,
// and the bot restarted): its notifications then reach chats it was not
// shown in, and the chats it was shown in hear nothing more. Their
// messages would say FIRING for ever. So each notification also finds
// the group's key in chats its route no longer names (KeyAlerts); an open
// group there is marked Moved with the notification's state, and its
// message shows that state one last time, says the group's notifications
// go elsewhere now, and the group closes (with on_resolved: recall the
// message is recalled instead).

// moveAway marks Moved the open groups of n's key in chats other than
// chats, and returns their ids for the reconciler. A failure is logged:
// the notification is taken all the same, and the next one tries again.
func (rc *Receiver) moveAway(ctx context.Context, n Notification, route string, chats []ledger.Chat) []string {
	gs, err := rc.Ledger.KeyAlerts(ctx, n.Source, n.GroupKey)
	if err != nil {
		rc.Log.Warn("the chats an alert group was shown in before could not be looked up; the next notification tries again", zap.Error(err))
		return nil
	}
	var out []string
	for _, g := range gs {
		here := slices.ContainsFunc(chats, func(c ledger.Chat) bool { return c.Key() == g.Chat.Key() })
		if here || g.Moved || g.Closed && !g.Due() || GroupID(n, g.Chat) != g.ID { // another Grafana org's group of the same key
			continue
		}
		st, err := notice(n, route, g.Chat, rc.now())
		if err != nil {
			continue
		}
		_, err = rc.Ledger.UpdateAlert(ctx, g.ID, "", nil, func(s *ledger.AlertGroup) error {
			if !s.Moved {
				s.State, s.Hash, s.Firing, s.Moved = st.State, st.Hash, st.Firing, true
				s.Version++
			}
			return nil
		})
		if err != nil {
			rc.Log.Warn("an alert group routed to another chat now could not be closed in its old chat; the next notification tries again",
				zap.String("group", ShortID(g.ID)), zap.Error(err))
			continue
		}
		rc.Log.Info("alert group routed to another chat: its message in the old chat is brought to its last state", zap.String("group", ShortID(g.ID)),
			zap.String("old_chat", g.Chat.Key()), zap.String("route", route))
		out = append(out, g.ID)
	}
	return out
}
