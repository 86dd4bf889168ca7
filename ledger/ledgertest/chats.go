package ledgertest

import (
	"context"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// testChatInfo: what DingTalk said of a chat (a group's title, whom a
// one-to-one chat is with) is kept per chat, replaced by what it says
// next, and found by the chat's key; a chat never heard of is absent.
func testChatInfo(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC)
	for _, info := range []ledger.ChatInfo{
		{Chat: chatB, Title: "old title", Updated: at},
		{Chat: chatB, Title: "运维值班群", Updated: at.Add(time.Minute)},
		{Chat: chatU, With: "王经理", Updated: at},
	} {
		if err := s.PutChatInfo(ctx, info); err != nil {
			t.Fatalf("PutChatInfo(%+v): %v", info, err)
		}
	}
	got, err := s.ChatInfos(ctx, []ledger.Chat{chatA, chatB, chatU})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[chatB.Key()].Title != "运维值班群" || !got[chatB.Key()].Updated.Equal(at.Add(time.Minute)) || got[chatU.Key()].With != "王经理" {
		t.Errorf("ChatInfos = %+v, want the group's latest title and the 1:1 chat's person, nothing for %s", got, chatA.Key())
	}
	if err := s.PutChatInfo(ctx, ledger.ChatInfo{Title: "no chat"}); err == nil {
		t.Error("PutChatInfo without a chat succeeded")
	}
}

// testAuditFacts: a record's facts (what it is about, the reason code)
// come back as written, so that they can be put in words when read.
func testAuditFacts(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	since := time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC)
	c := chatB
	want := ledger.AuditAbout{Chat: &c, Since: since, Matching: "db-7"}
	if _, err := s.AppendAudit(ctx, ledger.AuditRecord{Actor: "manager4220", Action: "dry_run", About: &want, Why: "not_admin", Allowed: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Audit(ctx, ledger.AuditQuery{Limit: 1})
	if err != nil || len(got) != 1 || got[0].About == nil || got[0].Why != "not_admin" {
		t.Fatalf("Audit = %+v, %v", got, err)
	}
	a := got[0].About
	if a.Chat == nil || *a.Chat != chatB || !a.Since.Equal(since) || a.Matching != "db-7" {
		t.Errorf("About = %+v, want %+v", *a, want)
	}
}
