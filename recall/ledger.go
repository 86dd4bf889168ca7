package recall

import (
	"github.com/recallbot/recallbot/ledger"
)

// SenderLedger is what a Sender needs of the ledger: to write an entry
// ahead of the send, settle it, audit, replay its spool, and probe the
// ledger after a refused write (all of these are ReplayTarget's roles), and
// to resolve the sends in doubt (EntryLister's InState). *ledger.Bolt and
// *ledger.Redis have it.
type SenderLedger interface {
	ledger.ReplayTarget
	ledger.EntryLister
}

// EngineLedger is what an Engine needs of the ledger: to select messages
// (EntryReader, EntryLister), claim them under its lease (ClaimStore, and
// TempStore's PutTemp for the lease), take over lapsed claims, settle
// outcomes (EntryWriter's TransitionAll) and audit each attempt; and to
// stop the broadcast of a batch it recalls (jobLedger).
type EngineLedger interface {
	jobLedger
	ledger.EntryReader
	ledger.EntryLister
	ledger.EntryWriter
	ledger.ClaimStore
	ledger.TempStore
}
