package ledger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Spool is a local append-only journal for what the ledger could not take
// when it had to: a processQueryKey DingTalk returned while the ledger was
// down or its disk full. Each record is written and fsynced before the
// send is reported, so the key survives a crash; Replay moves the records
// into the ledger once it is back and empties the file.
//
// A spool belongs to one process (it is locked); instances sharing a Redis
// ledger each have their own.
type Spool struct {
	path    string
	mu      sync.Mutex // one writer or replayer at a time
	f       *os.File
	waiting atomic.Int64 // records not yet replayed
	seq     atomic.Uint64
}

// SpoolRecord is one line of the spool.
type SpoolRecord struct {
	// Seq ties the records of one send together: an intent and its key.
	Seq uint64 `json:"seq"`
	// Entry is the ledger entry as sent. ID is 0 when the entry never
	// reached the ledger (an intent written instead of Append).
	Entry Entry `json:"entry"`
	// Key is DingTalk's processQueryKey; "" for an intent, written before
	// the send when the ledger could not take the pending entry.
	Key string `json:"key,omitempty"`
	// NotSent closes an intent whose send was refused or never left.
	NotSent bool `json:"not_sent,omitempty"`
	// Recipients are the users a packed key reached (the rest were
	// invalid or flow-controlled); Job and Delta are the broadcast step it
	// settles, replayed with SettleStep.
	Recipients []string  `json:"recipients,omitempty"`
	Job        string    `json:"job,omitempty"`
	Delta      *JobDelta `json:"delta,omitempty"`
	At         time.Time `json:"at"`
}

// spoolHeader is the first line of every spool file, so that a foreign
// file is never read (or truncated) as one.
const spoolHeader = `{"recallbot_spool":1}`

// OpenSpool opens the spool at path, creating it if needed, and locks it.
func OpenSpool(path string) (*Spool, error) {
	if err := checkParent(path); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("spool %s is locked by another process; give each instance its own ledger.spool", path)
	}
	s := &Spool{path: path, f: f}
	s.seq.Store(uint64(time.Now().UnixNano()))
	recs, err := s.read()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	s.waiting.Store(int64(len(recs)))
	return s, nil
}

// Path is the spool's file.
func (s *Spool) Path() string { return s.path }

// Waiting is the number of records not yet replayed into the ledger.
func (s *Spool) Waiting() int {
	if s == nil {
		return 0
	}
	return int(s.waiting.Load())
}

// NextSeq returns a sequence number for a new send's records.
func (s *Spool) NextSeq() uint64 { return s.seq.Add(1) }

// Add writes r and fsyncs it.
func (s *Spool) Add(r SpoolRecord) error {
	if r.At.IsZero() {
		r.At = time.Now()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if fi, err := s.f.Stat(); err == nil && fi.Size() == 0 {
		b = append([]byte(spoolHeader+"\n"), b...)
	}
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("spool %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("spool %s: %w", s.path, err)
	}
	s.waiting.Add(1)
	return nil
}

// read returns the records in the file. A last line cut short (a crash in
// the middle of a write, never acknowledged) is skipped; any other line
// that does not parse is an error, so nothing is lost by accident.
func (s *Spool) read() ([]SpoolRecord, error) {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var out []SpoolRecord
	r := bufio.NewReader(s.f)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return out, nil // an unterminated last line was never fsynced whole
		}
		if err != nil {
			return nil, fmt.Errorf("spool %s: %w", s.path, err)
		}
		line = bytes.TrimSpace(line)
		if n == 1 {
			if string(line) != spoolHeader {
				return nil, fmt.Errorf("spool %s is not a recallbot spool (first line %.40q); move it aside or fix ledger.spool", s.path, line)
			}
			continue
		}
		var rec SpoolRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, fmt.Errorf("spool %s: line %d is damaged (%v); move the file aside and replay it by hand", s.path, n, err)
		}
		out = append(out, rec)
	}
}

// ReplayTarget is what Replay needs of a store.
type ReplayTarget interface {
	Record(ctx context.Context, once Once, e Entry, t Transition) (Entry, bool, error)
	Transition(ctx context.Context, id uint64, t Transition) (Entry, error)
	ByKey(ctx context.Context, processQueryKey string) (Entry, error)
	SettleStep(ctx context.Context, id string, entryID uint64, t Transition, d JobDelta) (Entry, Job, error)
	Sync(ctx context.Context) error
}

// Replay moves every record into led and empties the spool. It stops at
// the first error of the ledger itself (still down: try again later) and
// keeps the file; records the ledger refuses for what they say (an entry in
// a state that cannot take the key) are copied to path+".rejected" and
// reported in the returned error after the rest are replayed. Replaying a
// record twice is harmless.
func (s *Spool) Replay(ctx context.Context, led ReplayTarget) (replayed int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.read()
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	type send struct {
		intent, done *SpoolRecord
	}
	bySeq := map[uint64]*send{}
	var order []uint64
	for i := range recs {
		r := &recs[i]
		sd := bySeq[r.Seq]
		if sd == nil {
			sd = &send{}
			bySeq[r.Seq] = sd
			order = append(order, r.Seq)
		}
		if r.Key != "" || r.NotSent {
			sd.done = r
		} else {
			sd.intent = r
		}
	}
	var rejected []error
	for _, seq := range order {
		sd := bySeq[seq]
		err := validRecords(sd.intent, sd.done)
		if err == nil {
			err = replayOne(ctx, led, sd.intent, sd.done)
		}
		var te *TransitionError
		switch {
		case errors.As(err, &te):
			rejected = append(rejected, err)
			if werr := s.reject(sd.intent, sd.done); werr != nil {
				return replayed, werr
			}
		case err != nil:
			return replayed, fmt.Errorf("spool replay: %w", err)
		}
		replayed++
	}
	if err := s.f.Truncate(0); err != nil {
		return replayed, fmt.Errorf("spool %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return replayed, err
	}
	s.waiting.Store(0)
	if len(rejected) > 0 {
		return replayed, fmt.Errorf("spool: %d record(s) the ledger refused, kept in %s.rejected: %w", len(rejected), s.path, errors.Join(rejected...))
	}
	return replayed, nil
}

// validRecords refuses records whose entry the ledger could never take:
// they are set aside rather than blocking every replay after them.
func validRecords(recs ...*SpoolRecord) error {
	for _, r := range recs {
		if r == nil {
			continue
		}
		if _, err := prepare(r.Entry); err != nil {
			return &TransitionError{ID: r.Entry.ID, To: Sent, Why: "the spooled entry is not valid: " + err.Error()}
		}
	}
	return nil
}

// replayOne applies one send's records: the key to its pending entry, or a
// new entry for one that never reached the ledger (or was lost from it).
func replayOne(ctx context.Context, led ReplayTarget, intent, done *SpoolRecord) error {
	switch {
	case done != nil && done.NotSent:
		if done.Entry.ID == 0 {
			return nil // the intent's send never left: nothing to record
		}
		_, err := led.Transition(ctx, done.Entry.ID, Transition{To: SendFailed, Reason: done.Entry.Reason, At: done.At})
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	case done != nil:
		if _, err := led.ByKey(ctx, done.Key); err == nil {
			// Recorded already (an earlier replay, or a write whose wait
			// for the replicas fell short): forget it only once it lasts.
			return led.Sync(ctx)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		t := Transition{To: Sent, Key: done.Key, At: done.At, Recipients: done.Recipients}
		if done.Entry.ID != 0 && done.Job != "" && done.Delta != nil {
			_, _, err := led.SettleStep(ctx, done.Job, done.Entry.ID, t, *done.Delta)
			if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if done.Entry.ID != 0 {
			_, err := led.Transition(ctx, done.Entry.ID, t)
			if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		// Its pending entry never reached the ledger, or was lost: the
		// entry and its key in one commit, so that a replay cut short
		// leaves no pending entry behind for the next to duplicate.
		_, _, err := led.Record(ctx, Once{}, done.Entry, t)
		return err
	case intent != nil:
		// The process stopped between the intent and DingTalk's answer:
		// the message may be in the chat. Record it as pending, once: the
		// once and the entry in one commit, so neither is left without
		// the other.
		_, _, err := led.Record(ctx, Once{NS: "spool", ID: fmt.Sprint(intent.Seq), TTL: 30 * 24 * time.Hour}, intent.Entry, Transition{})
		return err
	}
	return nil
}

// reject appends records the ledger refused to the .rejected file.
func (s *Spool) reject(recs ...*SpoolRecord) error {
	f, err := os.OpenFile(s.path+".rejected", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	for _, r := range recs {
		if r == nil {
			continue
		}
		b, _ := json.Marshal(r)
		if _, err := f.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	return f.Sync()
}

// Close unlocks and closes the file.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Close()
}
