package alerts

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
)

// DingTalk may refuse an app's interactive cards: the first-generation
// card permission may no longer be granted to new apps. Then the app's
// alerts go out as markdown messages, superseded on change. The refusal
// is kept in the ledger for a day (every instance learns it; a day later
// cards are tried again) and logged once per process.

const (
	cardsNS        = "alerts"
	cardsRefusedID = "cards-refused"
	cardsRetry     = 24 * time.Hour
)

// cardState is whether DingTalk takes this app's cards.
type cardState struct {
	mu        sync.Mutex
	off       bool
	code      string // DingTalk's answer
	logged    bool
	refreshed time.Time // when the ledger was last asked
}

func (r *Reconciler) cardsUsable() bool {
	r.cards.mu.Lock()
	defer r.cards.mu.Unlock()
	return !r.cards.off
}

// cardsRefused notes that DingTalk refused a card with err, here and in
// the ledger.
func (r *Reconciler) cardsRefused(ctx context.Context, err error) {
	c := code(err)
	r.noteCards(true, c)
	if perr := r.led.PutTemp(context.WithoutCancel(ctx), cardsNS, cardsRefusedID, []byte(c), cardsRetry); perr != nil {
		r.log.Warn("the card refusal could not be shared with other instances", zap.Error(perr))
	}
}

// refreshCards learns from the ledger whether another instance found
// cards refused, or whether a day has passed since and cards may be
// tried again.
func (r *Reconciler) refreshCards(ctx context.Context) {
	r.cards.mu.Lock()
	due := time.Since(r.cards.refreshed) >= time.Minute
	if due {
		r.cards.refreshed = time.Now()
	}
	r.cards.mu.Unlock()
	if r.cfg.Alerts.Style != StyleCard || !due {
		return
	}
	v, found, _, err := r.led.TakeTempIf(ctx, cardsNS, cardsRefusedID, func([]byte) bool { return false })
	if err != nil {
		return
	}
	r.noteCards(found, string(v))
}

func (r *Reconciler) noteCards(off bool, code string) {
	r.cards.mu.Lock()
	defer r.cards.mu.Unlock()
	if off && !r.cards.logged {
		r.log.Warn("DingTalk refuses this app's interactive cards: alerts are sent as markdown messages, each change superseding the last (grant the app the robot card permission to get cards back; they are tried again within a day)",
			zap.String("code", code), zap.String("meaning", dingtalk.Explain(code, "en")))
		r.cards.logged = true
	}
	if !off && r.cards.off {
		r.log.Info("interactive cards are tried again for alerts")
		r.cards.logged = false
	}
	r.cards.off, r.cards.code = off, code
}

// Status says, in the locale, how alerts are sent, for /status: "" when
// alerts go out as configured.
func (r *Reconciler) Status(locale string) string {
	r.cards.mu.Lock()
	defer r.cards.mu.Unlock()
	if !r.cards.off || r.cfg.Alerts.Style != StyleCard {
		return ""
	}
	if locale == "en" {
		return "Alerts: DingTalk refuses this app's interactive cards (" + dingtalk.Explain(r.cards.code, "en") + "): they are sent as markdown messages"
	}
	return "告警：钉钉拒绝了本应用的互动卡片（" + dingtalk.Explain(r.cards.code, "zh") + "），告警改用 Markdown 消息发送"
}
