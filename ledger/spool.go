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
	"slices"
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
//
// When the spool's own disk fails too (both on one full disk), AddOrHold
// keeps the record in memory: Replay writes it to the file as soon as the
// file takes it, or straight into the ledger when the ledger is back. A
// held record is lost only if the process stops first; Close says which.
type Spool struct {
	path      string
	mu        sync.Mutex // the file and held: one writer at a time
	replaying sync.Mutex // one replay at a time
	f         *os.File
	waiting   atomic.Int64 // records not yet replayed, held ones included
	seq       atomic.Uint64
	held      []SpoolRecord // under mu: records the file did not take
	nheld     atomic.Int64
}

// ErrHeld marks a record the spool's file could not take, held in memory
// until the file or the ledger takes it.
var ErrHeld = errors.New("held in memory: the spool's file could not take it")

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
	// Audit is an audit record the ledger could not take; a record with
	// one carries nothing else.
	Audit *AuditRecord `json:"audit,omitempty"`
	At    time.Time    `json:"at"`
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

// Held is the number of records held in memory (see AddOrHold).
func (s *Spool) Held() int {
	if s == nil {
		return 0
	}
	return int(s.nheld.Load())
}

// Add writes r and fsyncs it.
func (s *Spool) Add(r SpoolRecord) error {
	if r.At.IsZero() {
		r.At = time.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(r); err != nil {
		return err
	}
	s.waiting.Add(1)
	return nil
}

// AddOrHold writes r like Add; if the file cannot take it, r is held in
// memory and the error wraps ErrHeld. Use it for what must not be
// dropped (a key DingTalk returned), not for an intent (nothing was sent
// yet: better not to send).
func (s *Spool) AddOrHold(r SpoolRecord) error {
	if r.At.IsZero() {
		r.At = time.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.write(r)
	if err == nil {
		s.waiting.Add(1)
		return nil
	}
	s.held = append(s.held, r)
	s.nheld.Add(1)
	s.waiting.Add(1)
	return fmt.Errorf("%w (%w)", ErrHeld, err)
}

// write appends r and fsyncs it, under mu. A write cut short (a full
// disk) is cut from the file again, so that the next line does not
// follow half a record.
func (s *Spool) write(r SpoolRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("spool %s: %w", s.path, err)
	}
	if fi.Size() == 0 {
		b = append([]byte(spoolHeader+"\n"), b...)
	}
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		_ = s.f.Truncate(fi.Size())
		return fmt.Errorf("spool %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		_ = s.f.Truncate(fi.Size())
		return fmt.Errorf("spool %s: %w", s.path, err)
	}
	return nil
}

// persistHeld moves held records into the file while it takes them, so
// that they survive a crash; under mu.
func (s *Spool) persistHeld() {
	for len(s.held) > 0 {
		if s.write(s.held[0]) != nil {
			return
		}
		s.held = s.held[1:]
		s.nheld.Add(-1)
	}
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

// ReplayTarget is what Replay needs of a store: to record the entries,
// keys, audit records and broadcast steps the spool holds (EntryWriter,
// AuditStore, StepStore), to find what is there already (EntryReader,
// TempStore), and to know it durable before a record is forgotten
// (AdminStore's Sync).
type ReplayTarget interface {
	EntryWriter
	EntryReader
	AuditStore
	TempStore
	StepStore
	AdminStore
}

// Replay moves every record into led and empties the spool. It stops at
// the first error of the ledger itself (still down: try again later) and
// keeps the file; records the ledger refuses for what they say (an entry in
// a state that cannot take the key) are copied to path+".rejected" and
// reported in the returned error after the rest are replayed. Replaying a
// record twice is harmless.
func (s *Spool) Replay(ctx context.Context, led ReplayTarget) (replayed int, err error) {
	s.replaying.Lock()
	defer s.replaying.Unlock()
	return s.replay(ctx, led)
}

// TryReplay is Replay unless another replay is under way, in which case
// it returns at once with ran false: a send need not wait behind a replay
// into a slow ledger.
func (s *Spool) TryReplay(ctx context.Context, led ReplayTarget) (replayed int, ran bool, err error) {
	if !s.replaying.TryLock() {
		return 0, false, nil
	}
	defer s.replaying.Unlock()
	replayed, err = s.replay(ctx, led)
	return replayed, true, err
}

// replay holds the file's lock only to read and to empty it, never while
// it waits for the ledger: a key spooled meanwhile is written at once. If
// records came in during the replay the file is left as it is; the next
// replay takes them all (again, which is harmless).
func (s *Spool) replay(ctx context.Context, led ReplayTarget) (replayed int, err error) {
	s.mu.Lock()
	s.persistHeld()
	recs, rerr := s.read()
	var size int64 = -1
	if fi, err := s.f.Stat(); err == nil {
		size = fi.Size()
	}
	held := slices.Clone(s.held)
	s.mu.Unlock()
	if rerr != nil && len(held) == 0 {
		return 0, rerr
	}
	recs = append(recs, held...)
	if len(recs) == 0 {
		return 0, nil
	}
	replayed, refused, err := ReplayRecords(ctx, led, recs)
	if err != nil {
		return replayed, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(refused) > 0 {
		if werr := s.reject(refused...); werr != nil {
			return replayed, werr
		}
	}
	s.held = s.held[len(held):]
	s.nheld.Add(-int64(len(held)))
	s.waiting.Add(-int64(len(held)))
	if rerr != nil { // the held records are in; the file's are not
		return replayed, rerr
	}
	if fi, err := s.f.Stat(); err != nil || fi.Size() != size {
		return replayed, nil // records came in meanwhile: the next replay
	}
	if err := s.f.Truncate(0); err != nil {
		return replayed, fmt.Errorf("spool %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return replayed, err
	}
	s.waiting.Store(int64(len(s.held)))
	if len(refused) > 0 {
		return replayed, fmt.Errorf("spool: %d record(s) the ledger refused, kept in %s.rejected", len(refused), s.path)
	}
	return replayed, nil
}

// ReplayRecords applies spool records to led, the records of one send
// together, in order. It stops at the first error of the ledger itself
// (still down) and returns the records the ledger refused for what they
// say (to set aside). Applying a record twice is harmless.
func ReplayRecords(ctx context.Context, led ReplayTarget, recs []SpoolRecord) (replayed int, refused []SpoolRecord, err error) {
	type send struct {
		intent, done *SpoolRecord
	}
	bySeq := map[uint64]*send{}
	var order []uint64
	var audits []*SpoolRecord
	for i := range recs {
		r := &recs[i]
		if r.Audit != nil {
			audits = append(audits, r)
			continue
		}
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
	for _, seq := range order {
		sd := bySeq[seq]
		err := validRecords(sd.intent, sd.done)
		if err == nil {
			err = replayOne(ctx, led, sd.intent, sd.done)
		}
		var te *TransitionError
		switch {
		case errors.As(err, &te):
			for _, r := range []*SpoolRecord{sd.intent, sd.done} {
				if r != nil {
					refused = append(refused, *r)
				}
			}
		case err != nil:
			return replayed, refused, fmt.Errorf("spool replay: %w", err)
		}
		replayed++
	}
	for _, r := range audits {
		if err := replayAudit(ctx, led, r); err != nil {
			return replayed, refused, fmt.Errorf("spool replay: %w", err)
		}
		replayed++
	}
	return replayed, refused, nil
}

// replayAudit appends a spooled audit record once: a marker written after
// it keeps a second replay from appending it again (a crash between the
// two can only double it, never lose it).
func replayAudit(ctx context.Context, led ReplayTarget, r *SpoolRecord) error {
	id := fmt.Sprint(r.Seq)
	peek := func([]byte) bool { return false }
	if _, found, _, err := led.TakeTempIf(ctx, "spool-audit", id, peek); err != nil || found {
		return err
	}
	if _, err := led.AppendAudit(ctx, *r.Audit); err != nil {
		return err
	}
	return led.PutTemp(ctx, "spool-audit", id, nil, 30*24*time.Hour)
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
func (s *Spool) reject(recs ...SpoolRecord) error {
	f, err := os.OpenFile(s.path+".rejected", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	for _, r := range recs {
		b, _ := json.Marshal(r)
		if _, err := f.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	return f.Sync()
}

// Close unlocks and closes the file. Records still held in memory are
// lost: the error names their keys, for an operator to record by hand.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.persistHeld()
	err := s.f.Close()
	if len(s.held) > 0 {
		var keys []string
		for _, r := range s.held {
			if r.Key != "" {
				keys = append(keys, r.Key)
			}
		}
		err = errors.Join(err, fmt.Errorf("spool %s: %d record(s) were never written (the disk failed) and are lost; their keys: %v", s.path, len(s.held), keys))
	}
	return err
}
