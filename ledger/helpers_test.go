package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Helpers of package ledger's own tests (the conformance suite, in
// ledgertest, has its own).

var (
	chatA = Chat{Family: Private, ConversationID: "cidA"}
	chatB = Chat{Family: Group, ConversationID: "cidB"}
)

// by is a claimant for tests: one owner with a long lease.
func by(at time.Time) Claimant { return Claimant{Owner: "test-owner", At: at, LeaseTTL: time.Hour} }

func mustSend(t testing.TB, s Store, c Chat, text string) Entry {
	t.Helper()
	e, err := s.Append(context.Background(), Entry{Chat: c, MsgKey: "sampleText", Excerpt: text})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Transition(context.Background(), e.ID, Transition{To: Sent, Key: fmt.Sprintf("key-%s-%d", c.Key(), e.ID)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
