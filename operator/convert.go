package operator

import (
	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// The bot's own types become the API's here, in one place. The API's
// types are a contract of their own (package api needs nothing of the
// bot), so a field added to a ledger.Entry reaches the API only when it
// is added here too; TestConversionsKeepEveryField says when one is
// missed.

func chatOf(c ledger.Chat) api.Chat {
	return api.Chat{Family: api.Family(c.Family), ConversationID: c.ConversationID, UserID: c.UserID}
}

// ledgerChat is a chat named in a request.
func ledgerChat(c api.Chat) ledger.Chat {
	return ledger.Chat{Family: ledger.Family(c.Family), ConversationID: c.ConversationID, UserID: c.UserID}
}

// entryOf is an entry on the wire, its reason also in words, in locale.
func entryOf(e ledger.Entry, locale string) api.Entry {
	out := api.Entry{ID: e.ID, Chat: chatOf(e.Chat), ProcessQueryKey: e.ProcessQueryKey, MsgKey: e.MsgKey, Excerpt: e.Excerpt,
		ContentHash: e.ContentHash, SentAt: e.SentAt, Origin: string(e.Origin), Actor: e.Actor, BatchID: e.BatchID, ExpiresAt: e.ExpiresAt,
		State: api.State(e.State), Reason: e.Reason, UpdatedAt: e.UpdatedAt, Supersedes: e.Supersedes, SupersededBy: e.SupersededBy,
		ClaimedBy: e.ClaimedBy, DueAt: e.DueAt, Recipients: e.Recipients, AlertGroup: e.Alert}
	if e.Reason != "" {
		out.Explanation = recall.ReasonWords(e.Reason, locale)
	}
	return out
}

// entriesOf is a list of entries, their chats named by names; [] when
// empty, never null.
func entriesOf(es []ledger.Entry, locale string, names recall.Names) []api.Entry {
	out := make([]api.Entry, len(es))
	for i, e := range es {
		out[i] = entryOf(e, locale)
		out[i].ChatName = names(e.Chat)
	}
	return out
}

func readsOf(r recall.Reads) api.Reads {
	return api.Reads{SendStatus: r.SendStatus, Read: r.Read, Recipients: r.Recipients, Readers: r.Readers, Error: r.Err}
}

// auditOf is a list of audit records; [] when empty, never null. Scope
// and note are put in words now, in locale, from the records' facts (a
// record older than them keeps its words); names names their chats.
func auditOf(recs []ledger.AuditRecord, locale string, names recall.Names) []api.AuditRecord {
	out := make([]api.AuditRecord, len(recs))
	for i, r := range recs {
		scope, note := recall.AuditWords(r, locale, names)
		out[i] = api.AuditRecord{ID: r.ID, At: r.At, Actor: r.Actor, Action: r.Action, Scope: scope, Allowed: r.Allowed,
			Outcomes: r.Outcomes, Note: note, Trail: r.Trail, About: aboutOf(r.About), Why: r.Why}
	}
	return out
}

// aboutOf is an audit record's facts on the wire.
func aboutOf(a *ledger.AuditAbout) *api.AuditAbout {
	if a == nil {
		return nil
	}
	out := &api.AuditAbout{Keys: a.Keys, Last: a.Last, Since: a.Since, Batch: a.Batch, Entries: a.Entries, Entry: a.Entry,
		Matching: a.Matching, Count: a.Count, Sender: a.Sender, Alert: a.Alert, Frame: a.Frame}
	if a.Chat != nil {
		c := chatOf(*a.Chat)
		out.Chat = &c
	}
	return out
}

// receiptOf is a receipt with its summary and per-outcome counts, in the
// operator's locale.
func (o *Operator) receiptOf(r *recall.Receipt) api.Receipt {
	out := api.Receipt{Scope: r.Scope, DryRun: r.DryRun, Requested: r.Requested(), Counts: map[string]int{}, Calls: r.Calls,
		Summary: r.Summary(o.cfg.Locale), AuditID: r.AuditID, Items: make([]api.Item, len(r.Items))}
	for i, it := range r.Items {
		out.Counts[string(it.Outcome)]++
		item := api.Item{Outcome: string(it.Outcome), ProcessQueryKey: it.Key}
		if it.Entry.ID != 0 {
			item.EntryID, item.Excerpt, item.SentAt, item.Chat = it.Entry.ID, it.Entry.Excerpt, it.Entry.SentAt, chatOf(it.Entry.Chat)
		}
		if it.Reason != "" {
			item.Reason, item.Explanation = it.Reason, recall.ReasonWords(it.Reason, o.cfg.Locale)
		}
		if it.Reads != nil {
			rd := readsOf(*it.Reads)
			item.Reads = &rd
		}
		if it.Outcome == recall.WouldRecall && o.cfg.Window > 0 && !it.Entry.SentAt.IsZero() {
			item.RecallableUntil = it.Entry.SentAt.Add(o.cfg.Window)
		}
		out.Items[i] = item
	}
	if b := r.Broadcast; b != nil {
		out.Broadcast = &api.BroadcastStop{BatchID: b.Batch, Stopped: b.Stopped, State: string(b.State), NotSent: b.NotSent,
			InFlight: b.InFlight, Unanswered: b.Unanswered}
	}
	return out
}

// broadcastOf is a broadcast's progress. InFlight names the calls that may
// be on the wire (their people are pending until DingTalk answers);
// Cancelled counts the people a cancel kept it from sending to.
func broadcastOf(j ledger.Job) api.Broadcast {
	b := api.Broadcast{BatchID: j.ID, State: string(j.State), Recipients: j.Recipients, Sent: j.Sent, Failed: j.Failed,
		Cancelled: j.Cancelled, Pending: j.Pending(), SendCalls: j.Calls, Steps: j.Steps, Excerpt: j.Excerpt, Actor: j.Actor,
		Retrying: len(j.Retry), Refused: make([]api.Refusal, len(j.Refused)), InFlight: []api.InFlight{}, CancelledBy: j.StoppedBy,
		Created: j.Created, Updated: j.Updated}
	for i, r := range j.Refused {
		b.Refused[i] = api.Refusal{Target: r.Target, Reason: r.Reason}
	}
	for _, s := range j.InFlight() {
		b.InFlight = append(b.InFlight, api.InFlight{EntryID: s.Entry, People: s.People})
	}
	return b
}
