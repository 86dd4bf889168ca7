package api_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
)

// TestClientSpeaksEveryRoute drives every route of a real bot's HTTP API
// through api.Client, and holds each typed answer up against what the
// server wrote: nothing is lost in the types, nothing added.
func TestClientSpeaksEveryRoute(t *testing.T) {
	b := newBot(t)
	c := b.client
	ctx := b.ctx(t)

	t.Run("health and readiness", func(t *testing.T) {
		h, err := c.Health(ctx)
		if err != nil || h.Status != "ok" {
			t.Fatalf("Health() = %+v, %v", h, err)
		}
		b.same(t, h)
		r, err := c.Ready(ctx)
		if err != nil || !r.Ready || !r.StreamConnected || !r.LedgerOK || !r.LedgerWritesOK {
			t.Errorf("Ready() = %+v, %v", r, err)
		}
		b.same(t, r)
		b.ready.Store(false) // the Stream connection drops: 503, and the answer says why
		r, err = c.Ready(ctx)
		if err != nil || r.Ready || r.StreamConnected || !r.LedgerOK {
			t.Errorf("Ready() while disconnected = %+v, %v", r, err)
		}
		b.same(t, r)
		b.ready.Store(true)
	})

	var sent api.Sent
	t.Run("send, look up, list", func(t *testing.T) {
		var err error
		sent, err = c.Send(ctx, api.SendRequest{Chat: api.PrivateChat(privCID), Content: api.Content{Text: "from a Go program"}, Client: "go"})
		if err != nil || sent.State != api.StateSent || sent.ProcessQueryKey == "" || sent.Actor != "api:go" || sent.RecordDelayed {
			t.Fatalf("Send() = %+v, %v", sent, err)
		}
		b.same(t, sent)
		m, err := c.Message(ctx, sent.ProcessQueryKey, false)
		if err != nil || m.ID != sent.ID || m.ReadStatus != nil {
			t.Errorf("Message() = %+v, %v", m, err)
		}
		b.same(t, m)
		m, err = c.Message(ctx, sent.ProcessQueryKey, true)
		if err != nil || m.ReadStatus == nil || m.ReadStatus.SendStatus == "" {
			t.Errorf("Message(read status) = %+v, %v", m, err)
		}
		b.same(t, m)
		conv, err := c.Conversation(ctx, privCID, api.ConversationQuery{})
		if err != nil || conv.Chat != api.PrivateChat(privCID) || len(conv.Messages) != 1 || conv.Messages[0].ID != sent.ID {
			t.Errorf("Conversation() = %+v, %v", conv, err)
		}
		b.same(t, conv)
		conv, err = c.Conversation(ctx, "u1", api.ConversationQuery{Family: api.OTO, Limit: 5, Before: 100})
		if err != nil || conv.Chat != api.UserChat("u1") || conv.Messages == nil || len(conv.Messages) != 0 {
			t.Errorf("Conversation(oto) = %+v, %v", conv, err)
		}
		b.same(t, conv)
	})

	t.Run("recall: preview, then for real", func(t *testing.T) {
		prev, err := c.Recall(ctx, api.RecallRequest{Keys: []string{sent.ProcessQueryKey, "no-such-key"}, DryRun: true, Client: "go"})
		if err != nil || !prev.DryRun || prev.Counts["would_recall"] != 1 || prev.Counts["not_found"] != 1 || prev.ReadStatusCost == nil ||
			len(prev.Items) != 2 || prev.Items[0].EntryID != sent.ID || prev.Items[1].EntryID != 0 {
			t.Fatalf("Recall(dry run) = %+v, %v", prev, err)
		}
		b.same(t, prev)
		if m, _ := b.srv.Message(sent.ProcessQueryKey); m.Recalled {
			t.Fatal("the preview recalled")
		}
		rec, err := c.Recall(ctx, api.RecallRequest{ConversationID: privCID, Last: 1, Async: true, Client: "go"})
		if err != nil || rec.Summary != "1 recalled" || rec.AuditID == 0 {
			t.Fatalf("Recall() = %+v, %v", rec, err)
		}
		b.same(t, rec)
		if m, _ := b.srv.Message(sent.ProcessQueryKey); !m.Recalled {
			t.Error("the message is still shown")
		}
	})

	t.Run("broadcast, its status, cancel, a recall in the background", func(t *testing.T) {
		bc, err := c.Broadcast(ctx, api.BroadcastRequest{UserIDs: []string{"u1", "u2"}, Targets: []api.Chat{api.GroupChat(groupCID)},
			Content: api.Content{Title: "Maintenance", Text: "at 22:00"}, BatchID: "maint-1", Client: "go"})
		if err != nil || bc.BatchID != "maint-1" || bc.Recipients != 3 || bc.Refused == nil || bc.InFlight == nil {
			t.Fatalf("Broadcast() = %+v, %v", bc, err)
		}
		b.same(t, bc)
		if err := waitFor(ctx, func() bool { bc, err = c.BroadcastStatus(ctx, "maint-1"); return err == nil && bc.State == api.JobDone }); err != nil {
			t.Fatalf("the broadcast never finished: %+v, %v", bc, err)
		}
		b.same(t, bc)
		if bc.Sent != 3 || bc.SendCalls != 2 || bc.Pending != 0 {
			t.Errorf("BroadcastStatus() = %+v", bc)
		}
		// Ended already: a cancel changes nothing, and says so with the
		// final counts rather than answering as if it had cancelled.
		_, err = c.CancelBroadcast(ctx, "maint-1", "go")
		var ended *api.Error
		if !errors.As(err, &ended) || ended.Status != 409 || ended.Code != "broadcast_finished" ||
			!strings.Contains(ended.Message, "had already finished, so nothing was cancelled: sent 3 of 3") {
			t.Errorf("CancelBroadcast() of a finished broadcast = %v", err)
		}
		if bc, err = c.BroadcastStatus(ctx, "maint-1"); err != nil || bc.State != api.JobDone || bc.Cancelled != 0 || bc.CancelledBy != "" {
			t.Errorf("after the cancel: %+v, %v", bc, err)
		}
		job, err := c.StartRecall(ctx, api.RecallRequest{BatchID: "maint-1", Client: "go"})
		if err != nil || job.ID == "" || job.State != api.JobRunning || job.Actor != "api:go" || job.Requested != 2 {
			t.Fatalf("StartRecall() = %+v, %v", job, err)
		}
		b.same(t, job)
		if err := waitFor(ctx, func() bool { job, err = c.RecallStatus(ctx, job.ID); return err == nil && job.State != api.JobRunning }); err != nil {
			t.Fatalf("the recall never ended: %+v, %v", job, err)
		}
		b.same(t, job)
		if job.State != api.JobDone || job.Receipt == nil || job.Receipt.Counts["recalled"] != 2 || job.Receipt.Broadcast == nil {
			t.Errorf("RecallStatus() = %+v (receipt %+v)", job, job.Receipt)
		}
	})

	t.Run("audit, entries in doubt, resolve", func(t *testing.T) {
		a, err := c.Audit(ctx, api.AuditQuery{Limit: 3})
		if err != nil || len(a.Records) != 3 || a.Records[0].Actor != "api:go" || a.Records[0].Action != "recall" {
			t.Errorf("Audit() = %+v, %v", a, err)
		}
		b.same(t, a)
		a, err = c.Audit(ctx, api.AuditQuery{Trail: api.TrailAccess})
		if err != nil || a.Records == nil {
			t.Errorf("Audit(access) = %+v, %v", a, err)
		}
		b.same(t, a)
		e, err := b.led.Append(ctx, ledger.Entry{Chat: ledger.Chat{Family: ledger.Group, ConversationID: groupCID}, MsgKey: "sampleText",
			Excerpt: "maybe sent", Origin: ledger.OriginAPI})
		if err != nil {
			t.Fatal(err)
		}
		es, err := c.Entries(ctx, api.StatePending)
		if err != nil || len(es.Entries) != 1 || es.Entries[0].ID != e.ID {
			t.Errorf("Entries() = %+v, %v", es, err)
		}
		b.same(t, es)
		got, err := c.Resolve(ctx, e.ID, api.ResolveRequest{State: api.StateUnknown, Note: "not in the chat", Client: "go"})
		if err != nil || got.ID != e.ID || got.State != api.StateUnknown {
			t.Errorf("Resolve() = %+v, %v", got, err)
		}
		b.same(t, got)
	})

	t.Run("auto-recall: replace, retract, the breaker", func(t *testing.T) {
		orig, err := c.Send(ctx, api.SendRequest{Chat: api.GroupChat(groupCID), Content: api.Content{Text: "release at 20:00"}})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := c.Replace(ctx, orig.ProcessQueryKey, api.ReplaceRequest{Content: api.Content{Text: "release at 22:00"}, Client: "go"})
		if err != nil || !rep.OriginalRecalled || rep.Correction.Supersedes != orig.ID || rep.Recall == nil {
			t.Errorf("Replace() = %+v, %v", rep, err)
		}
		b.same(t, rep)
		rec, err := c.Retract(ctx, rep.Correction.ProcessQueryKey, api.RetractRequest{Reason: "the release moved again", Client: "go"})
		if err != nil || rec.Counts["recalled"] != 1 {
			t.Errorf("Retract() = %+v, %v", rec, err)
		}
		b.same(t, rec)
		ar, err := c.AutoRecall(ctx)
		if err != nil || ar.Paused {
			t.Errorf("AutoRecall() = %+v, %v", ar, err)
		}
		b.same(t, ar)
		ar, err = c.ResumeAutoRecall(ctx, "go")
		if err != nil || ar.Paused {
			t.Errorf("ResumeAutoRecall() = %+v, %v", ar, err)
		}
		b.same(t, ar)
	})

	t.Run("an alert notification", func(t *testing.T) {
		body, err := os.ReadFile("../alerts/testdata/alertmanager-0.25-firing.json") // receiver "db\.oncall"
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Notify(ctx, "alertmanager", body)
		if err != nil || got.Route != "db.oncall" || len(got.Groups) != 1 || got.Status != "firing" {
			t.Errorf("Notify() = %+v, %v", got, err)
		}
		b.same(t, got)
	})
}
