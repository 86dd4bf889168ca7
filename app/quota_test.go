package app

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestQuotaSpentElsewhereIsSaid: a few rate-limit refusals within a
// minute (what a pace that keeps the window draws only when something else
// spends the app's quota) are said in the log, naming the app and the way
// out (one Redis ledger for every instance), at most once every ten
// minutes; a lone refusal (the pace learning a lopsided network) is not.
// Two bots on their own ledgers for one app drew refusals on 41 % of their
// calls, and neither said a word.
func TestQuotaSpentElsewhereIsSaid(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	q := &quotaWatch{log: zap.New(core), clientID: "dingapp", now: func() time.Time { return now }}
	q.refused("/v1.0/robot/oToMessages/batchSend")
	now = now.Add(2 * time.Minute)
	q.refused("/v1.0/robot/oToMessages/batchSend")
	now = now.Add(10 * time.Second)
	q.refused("/v1.0/robot/oToMessages/batchSend")
	if n := logs.Len(); n != 0 {
		t.Fatalf("refusals a minute and more apart: %d warnings, want none", n)
	}
	now = now.Add(10 * time.Second)
	q.refused("/v1.0/robot/oToMessages/batchSend")
	for range 20 {
		now = now.Add(time.Second)
		q.refused("/v1.0/robot/oToMessages/batchSend")
	}
	warns := logs.TakeAll()
	if len(warns) != 1 {
		t.Fatalf("23 refusals within a minute: %d warnings, want 1", len(warns))
	}
	if f := warns[0].ContextMap(); f["client_id"] != "dingapp" || f["refusals_last_minute"] != int64(3) {
		t.Errorf("warning fields %v", f)
	}
	now = now.Add(quotaWarnEvery)
	for range 3 {
		q.refused("/v1.0/robot/oToMessages/batchSend")
	}
	if n := logs.Len(); n != 1 {
		t.Errorf("ten minutes later, refusals still coming: %d warnings, want 1 more", n)
	}
}
