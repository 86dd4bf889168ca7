// Package ledgertest holds a ledger backend to the ledger's contract, and
// starts the Redis servers the shared ledger's tests run against.
//
// Run is the conformance suite: every case, grouped by the ledger's roles,
// against a fresh store from the caller's open function. The embedded
// bbolt store and the Redis store both pass it (package ledger's
// TestConformance); a third backend, or an in-memory store for examples,
// gets the same contract as a test:
//
//	func TestConformance(t *testing.T) {
//		ledgertest.Run(t, func(t *testing.T) ledger.Store {
//			s := mystore.New()
//			t.Cleanup(func() { _ = s.Close() })
//			return s
//		})
//	}
package ledgertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// A testCase is one case of the suite.
type testCase struct {
	name string
	fn   func(t *testing.T, s ledger.Store)
}

// roles is the suite, by the ledger's roles (package ledger's roles.go).
// Each case names the role it is mostly about; most use others too (an
// entry must be appended before it is claimed).
var roles = []struct {
	name  string
	cases []testCase
}{
	{"entries", []testCase{
		{"Lifecycle", testLifecycle},
		{"InvalidTransitions", testInvalidTransitions},
		{"TransitionAll", testTransitionAll},
		{"ListQueries", testListQueries},
		{"Recent", testRecent},
		{"BatchDueInState", testBatchDueInState},
		{"PackedKeys", testPackedKeys},
		{"Record", testRecord},
	}},
	{"claims", []testCase{
		{"ClaimFor", testClaimFor},
		{"ConcurrentUse", testConcurrentUse},
	}},
	{"temp", []testCase{
		{"ClaimOnceAndTemp", testClaimOnceAndTemp},
		{"Marks", testMarks},
	}},
	{"audit", []testCase{
		{"AuditTrail", testAuditTrail},
		{"SetAuditNote", testSetAuditNote},
		{"AuditFacts", testAuditFacts},
	}},
	{"chats", []testCase{
		{"ChatInfo", testChatInfo},
	}},
	{"jobs", []testCase{
		{"Jobs", testJobs},
		{"JobDispatchAndCancel", testJobDispatchAndCancel},
		{"JobTakeOverKeepsPlannedSteps", testJobTakeOverKeepsPlannedSteps},
		{"CreateJobInChunks", testCreateJobInChunks},
	}},
	{"alerts", []testCase{
		{"AlertGroups", testAlertGroups},
		{"AlertGroupTakenOnce", testAlertGroupTakenOnce},
		{"AlertNotices", testAlertNotices},
	}},
	{"admin", []testCase{
		{"Probe", testProbe},
		{"Prune", testPrune},
	}},
	{"replay", []testCase{
		{"ReplayInterruptedAnywhere", testReplayInterruptedAnywhere},
	}},
}

// Run runs the conformance suite, one subtest per role and case
// ("entries/Lifecycle", "jobs/JobDispatchAndCancel", ...). Each case gets
// a store of its own from open, empty, which open closes when the test
// ends (t.Cleanup); after the case the suite checks the store's integrity
// (Check).
func Run(t *testing.T, open func(t *testing.T) ledger.Store) {
	for _, r := range roles {
		t.Run(r.name, func(t *testing.T) {
			for _, c := range r.cases {
				t.Run(c.name, func(t *testing.T) {
					s := open(t)
					c.fn(t, s)
					if err := s.Check(context.Background()); err != nil {
						t.Errorf("Check after the case: %v", err)
					}
				})
			}
		})
	}
}

var (
	chatA = ledger.Chat{Family: ledger.Private, ConversationID: "cidA"}
	chatB = ledger.Chat{Family: ledger.Group, ConversationID: "cidB"}
	chatU = ledger.Chat{Family: ledger.OTO, UserID: "user1"}
)

// by is a claimant for tests: one owner with a long lease.
func by(at time.Time) ledger.Claimant {
	return ledger.Claimant{Owner: "test-owner", At: at, LeaseTTL: time.Hour}
}

func mustAppend(t testing.TB, s ledger.Store, e ledger.Entry) ledger.Entry {
	t.Helper()
	out, err := s.Append(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustSend(t testing.TB, s ledger.Store, c ledger.Chat, text string) ledger.Entry {
	t.Helper()
	e := mustAppend(t, s, ledger.Entry{Chat: c, MsgKey: "sampleText", Excerpt: text})
	out, err := s.Transition(context.Background(), e.ID, ledger.Transition{To: ledger.Sent, Key: fmt.Sprintf("key-%s-%d", c.Key(), e.ID)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// always is a TakeTempIf take that takes every value: the value is
// single-use.
func always([]byte) bool { return true }

// dropLease deletes owner's lease, as if it had stopped renewing it and
// the lease had lapsed.
func dropLease(ctx context.Context, s ledger.Store, owner string) {
	_, _, _, _ = s.TakeTempIf(ctx, ledger.LeaseNS, owner, always)
}

func excerpts(es []ledger.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Excerpt)
	}
	return out
}

func userIDs(cs []ledger.Chat) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.UserID
	}
	return out
}
