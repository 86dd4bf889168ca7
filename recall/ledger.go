package recall

import (
	"context"
	"time"

	"github.com/recallbot/recallbot/ledger"
)

// SenderLedger is what a Sender needs of the ledger: to write an entry
// ahead of the send, settle it, resolve the ones in doubt, replay its
// spool, and probe it after a refused write. *ledger.Bolt and
// *ledger.Redis have it.
type SenderLedger interface {
	ledger.ReplayTarget
	Append(ctx context.Context, e ledger.Entry) (ledger.Entry, error)
	Get(ctx context.Context, id uint64) (ledger.Entry, error)
	TransitionAll(ctx context.Context, changes []ledger.Change) ([]ledger.Entry, []error, error)
	InState(ctx context.Context, s ledger.State, limit int) ([]ledger.Entry, error)
	AppendAudit(ctx context.Context, r ledger.AuditRecord) (ledger.AuditRecord, error)
	// Probe tells WatchWrites whether the ledger takes writes again.
	Probe(ctx context.Context) error
}

// EngineLedger is what an Engine needs of the ledger: to select messages,
// claim them under its lease, take over lapsed claims, settle outcomes and
// audit each attempt; and to stop the broadcast of a batch it recalls.
type EngineLedger interface {
	jobLedger
	Get(ctx context.Context, id uint64) (ledger.Entry, error)
	ByKeys(ctx context.Context, keys []string) (found []ledger.Entry, missing []string, err error)
	List(ctx context.Context, q ledger.Query) ([]ledger.Entry, error)
	Batch(ctx context.Context, batchID string) ([]ledger.Entry, error)
	InState(ctx context.Context, s ledger.State, limit int) ([]ledger.Entry, error)
	Claim(ctx context.Context, ids []uint64, by ledger.Claimant) (claimed, others []ledger.Entry, missing []uint64, err error)
	ClaimFor(ctx context.Context, once ledger.Once, ids []uint64, by ledger.Claimant) (first bool, claimed, others []ledger.Entry, missing []uint64, err error)
	TakeOver(ctx context.Context, ids []uint64, by ledger.Claimant, staleBefore time.Time) ([]ledger.Entry, error)
	TransitionAll(ctx context.Context, changes []ledger.Change) ([]ledger.Entry, []error, error)
	PutTemp(ctx context.Context, ns, id string, value []byte, ttl time.Duration) error
	AppendAudit(ctx context.Context, r ledger.AuditRecord) (ledger.AuditRecord, error)
}
