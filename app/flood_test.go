package app_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/ledger/ledgertest"
)

// TestAdminGoesFirstUnderAFlood: one non-admin sends 1,000 commands as
// fast as a script can to two bots sharing one real redis-server, then an
// admin types "/recall last 1". The admin's recall reaches DingTalk
// without waiting for the flood: at that moment the flooder has had at
// most what the command budget admits answered, and that is all the
// flood ever gets. The flood writes only what the budget admits (each
// bot: its burst of refusals, one "slow down" reply, one record of the
// sender over the budget and one summary for the minute); the recall
// trail (GET /v1/audit, /audit) shows the admin's recall alone.
func TestAdminGoesFirstUnderAFlood(t *testing.T) {
	t.Parallel()
	r := ledgertest.Own(t)
	onRedis := func(c *config.Config) {
		c.Ledger.RedisURL = r.URL
		c.Ledger.Spool = c.Ledger.Path + ".spool"
		c.Commands.Every = time.Hour // no refill while the test runs, however slow the machine
	}
	a := start(t, dingtalktest.Options{}, onRedis)
	b := startOn(t, a.srv, onRedis)
	srv, bots := a.srv, []*harness{a, b}
	burst := a.app.Config.Commands.Burst
	a.notify(2)
	opt, err := redis.ParseURL(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keysBefore, _ := rdb.DBSize(ctx).Result()
	countsBefore, _ := a.app.Ledger.Counts(ctx)
	handled := commandsHandled(a.app, b.app)

	flooderReplies := func() int {
		c, _ := srv.UserConversation(stranger)
		n := 0
		for _, m := range c.Messages {
			if m.FromBot() {
				n++
			}
		}
		return n
	}
	const flood = 1000
	first := a.clock.Now().Truncate(time.Minute) // the bots' clock: the budget's and the per-minute counts'
	for range flood {
		if _, err := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: stranger, Text: "/recall last 5"}); err != nil {
			t.Fatal(err)
		}
	}
	typed := time.Now()
	if _, err := srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 1"}); err != nil {
		t.Fatal(err)
	}
	var before int // the flooder's replies when the admin's recall call landed
	if err := srv.WaitUntil(ctx, func() bool {
		before = flooderReplies()
		return srv.CountCalls(dingtalktest.PathPrivateRecall) > 0
	}); err != nil {
		t.Fatal(err)
	}
	call, _ := srv.LastCall(dingtalktest.PathPrivateRecall)
	t.Logf("the admin's recall reached DingTalk %v after it was typed, behind %d flood commands", call.Time.Sub(typed), flood)
	if err := waitFor(ctx, func() bool { return commandsHandled(a.app, b.app) >= handled+flood+1 }); err != nil {
		t.Fatalf("%d of %d commands handled: %v", commandsHandled(a.app, b.app)-handled, flood+1, err)
	}
	// Each bot answers its budget's worth of refusals and one "slow down"
	// a minute (two if a slow machine took the flood over a minute's end).
	minutes := int(a.clock.Now().Truncate(time.Minute).Sub(first)/time.Minute) + 1
	most := len(bots) * (burst + minutes)
	if before > most {
		t.Errorf("the flooder had %d replies before the admin's recall went out; the budget admits %d", before, most)
	}
	if err := srv.WaitUntil(ctx, func() bool { return len(a.botReplies(privCID)) == 1 }); err != nil {
		t.Fatalf("the admin had no receipt: %v", err)
	}
	if got := flooderReplies(); got > most {
		t.Errorf("the flood got %d replies; the budget admits %d", got, most)
	}

	// What the flood wrote: the budget's refusals and one slow-down each.
	countsAfter, _ := a.app.Ledger.Counts(ctx)
	keysAfter, _ := rdb.DBSize(ctx).Result()
	entries := countsAfter.Total() - countsBefore.Total() - 1 // the admin's receipt
	if entries > int64(most) {
		t.Errorf("the flood added %d ledger entries; the budget admits %d", entries, most)
	}
	// Each command admitted writes its msgId and its refusal's audit
	// record; each reply an entry and its indexes (a few keys).
	t.Logf("the flood added %d ledger entries and %d Redis keys (%d before)", entries, keysAfter-keysBefore, keysBefore)
	if added := keysAfter - keysBefore; added > int64(10*most) {
		t.Errorf("the flood added %d Redis keys", added)
	}

	// The recall trail shows the recall; the refusals are in the access
	// trail, bounded: per bot its burst of refusals in full, one record of
	// the sender over the budget, and, once the minute is over, one
	// summary counting the rest.
	resp, body := a.do("GET", "/v1/audit?limit=500", testToken, "")
	recs, _ := body["records"].([]any)
	if resp.StatusCode != 200 || len(recs) != 1 || recs[0].(map[string]any)["actor"] != admin || recs[0].(map[string]any)["action"] != "recall" {
		t.Errorf("GET /v1/audit = %d %v; want the admin's recall alone", resp.StatusCode, body)
	}
	if reply := a.say(admin, "/audit"); !strings.Contains(reply, admin+" recall") || strings.Contains(reply, stranger) {
		t.Errorf("/audit: %q", reply)
	}
	for _, h := range bots {
		h.advance(time.Minute)
		h.app.Bot.FlushRefused(ctx)
	}
	// The bots' Run may write a summary while this flush finds nothing
	// left: wait until the trail accounts for the whole flood.
	var access []ledger.AuditRecord
	var denied, over, summaries, counted int
	var bad []ledger.AuditRecord
	_ = waitFor(ctx, func() bool {
		access, _ = a.app.Ledger.Audit(ctx, ledger.AuditQuery{Limit: 5000, Trail: ledger.TrailAccess})
		denied, over, summaries, counted, bad = 0, 0, 0, 0, nil
		for _, rec := range access {
			switch {
			case rec.Action == "denied" && rec.Actor == stranger:
				denied++
			case rec.Action == "command.over_budget" && rec.Actor == stranger:
				over++
			case rec.Action == "command.over_budget": // the minute's commands over the budget past the first, counted
				if rec.About == nil || rec.About.Count == 0 || !strings.Contains(rec.Note, stranger) {
					bad = append(bad, rec)
					continue
				}
				summaries++
				counted += rec.About.Count
			}
		}
		return denied+over+counted >= flood
	})
	for _, rec := range bad {
		t.Errorf("summary %+v", rec)
	}
	if len(access) != denied+over+summaries || denied > len(bots)*burst || over < len(bots) || over > len(bots)*minutes ||
		summaries < len(bots) || summaries > len(bots)*minutes {
		t.Errorf("access trail: %d records, %d refusals, %d over the budget, %d summaries; want at most %d, and %d a minute of the other two: %+v",
			len(access), denied, over, summaries, len(bots)*burst, len(bots), access)
	}
	if denied+over+counted != flood {
		t.Errorf("the access trail accounts for %d refusals + %d over the budget + %d counted = %d commands, want %d",
			denied, over, counted, denied+over+counted, flood)
	}
}

// TestManySendersCannotFloodTogether: 100 people who are not admins each
// send four admin commands at once, each within or just past their own
// budget (three at once). Together they are past the budget everyone who
// is not an admin shares (commands.crowd_burst), so at most that many run:
// the chat gets no more replies than that (plus one "busy" or "slow down"
// each for the few senders a minute whose drop is written in full), the
// access trail gets their refusals and those few drops in full and one
// summary counting every other command, and the admin's recall still runs.
func TestManySendersCannotFloodTogether(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{}, func(c *config.Config) {
		c.Commands.Every, c.Commands.CrowdEvery = time.Hour, time.Hour // no refill while the test runs
	})
	h.notify(1)
	crowd := h.app.Config.Commands.CrowdBurst
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	handled := commandsHandled(h.app)
	const senders, each = 100, 4
	for i := range senders * each {
		if _, err := h.srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: fmt.Sprintf("crowd%03d", i%senders), Text: "/recall last 5"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{ConversationID: privCID, SenderStaffID: admin, Text: "/recall last 1"}); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, func() bool { return commandsHandled(h.app) >= handled+senders*each+1 }); err != nil {
		t.Fatalf("%d of %d commands handled: %v", commandsHandled(h.app)-handled, senders*each+1, err)
	}
	if err := h.srv.WaitUntil(ctx, func() bool { return len(h.botReplies(privCID)) == 1 }); err != nil {
		t.Fatalf("the admin had no receipt: %v", err)
	}
	replies := 0
	for i := range senders {
		c, _ := h.srv.UserConversation(fmt.Sprintf("crowd%03d", i))
		for _, m := range c.Messages {
			if m.FromBot() {
				replies++
			}
		}
	}
	const fullPerMinute = 10 // refusals.Counter's sources a minute
	if most := crowd + fullPerMinute; replies > most {
		t.Errorf("the crowd got %d replies; its budget admits %d", replies, most)
	}
	// Once the minute is over its summaries are written (by the bot's Run
	// or by this call, whichever comes first).
	h.advance(time.Minute)
	h.app.Bot.FlushRefused(ctx)
	var access []ledger.AuditRecord
	full, counted := 0, 0
	err := waitFor(ctx, func() bool {
		access, _ = h.app.Ledger.Audit(ctx, ledger.AuditQuery{Limit: 5000, Trail: ledger.TrailAccess})
		full, counted = 0, 0
		for _, rec := range access {
			if rec.Actor == "chat" && rec.About != nil && rec.About.Count > 0 {
				counted += rec.About.Count
			} else {
				full++
			}
		}
		return full+counted == senders*each
	})
	if err != nil || full > crowd+fullPerMinute {
		t.Errorf("access trail: %d records in full, %d counted, want at most %d in full and %d in all: %+v", full, counted, crowd+fullPerMinute, senders*each, access)
	}
}

// TestNonAdminRepliesWaitForAnAdmins: replies to people who are not
// admins are bulk work for DingTalk's pace, so an admin's reply that comes
// while they wait for their slots goes ahead of them. The bot is paced at
// 2 calls/s, so five people's replies wait for seconds.
func TestNonAdminRepliesWaitForAnAdmins(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.DingTalk.QPS = 2 })
	const others = 5
	for i := range others {
		if _, err := h.srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: fmt.Sprintf("user%02d", i), Text: "/status"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: admin, Text: "/status"}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.WaitUntil(h.ctx(), func() bool { return h.srv.CountCalls(dingtalktest.PathOTOSend) == others+1 }); err != nil {
		t.Fatal(err)
	}
	// At most two went before it: one holding its slot when the admin's
	// reply came, and one waiting for the next with the turn already its.
	var order []string
	for _, c := range h.srv.CallsTo(dingtalktest.PathOTOSend) {
		who := "other"
		if strings.Contains(c.Request, admin) {
			who = "admin"
		}
		order = append(order, who)
	}
	if i := slices.Index(order, "admin"); i < 0 || i > 2 {
		t.Errorf("the admin's reply went out at position %d of %v; want it ahead of the replies still waiting", i+1, order)
	}
}
