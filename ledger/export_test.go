package ledger

import "testing"

// BigLedger builds or reuses the 1,000,000-entry benchmark ledger (keys
// "key%08d", 10,000 private chats "cid%05d") for benchmarks in ledger_test.
func BigLedger(b *testing.B) string { return bigLedger(b) }
