package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDamagedPagesNeverCrashTheProcess: a ledger file whose pages were
// overwritten (a disk fault, a foreign write) makes bbolt panic, or fault
// on its memory map, when it reads them. Every operation must come back
// with an error instead, naming the file as damaged, and the process must
// live on. Each round overwrites one page of a copy of a real ledger.
func TestDamagedPagesNeverCrashTheProcess(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.db")
	s, err := Open(orig, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	for i := range 3000 {
		chat := Chat{Family: Group, ConversationID: fmt.Sprintf("cid%02d", i%40)}
		e, err := s.Append(ctx, Entry{Chat: chat, MsgKey: "sampleText", Excerpt: strings.Repeat("x", i%70), SentAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Transition(ctx, e.ID, Transition{To: Sent, Key: fmt.Sprintf("key%05d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	clean, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	pages := len(clean) / page
	rng := rand.New(rand.NewPCG(1, 2))
	var opened, damaged, failed int
	for round := range 40 {
		b := append([]byte(nil), clean...)
		p := 2 + rng.IntN(pages-2) // pages 0 and 1 are bbolt's meta pages: Open checks those
		for i := p * page; i < (p+1)*page; i++ {
			b[i] = byte(rng.Uint32())
		}
		path := filepath.Join(dir, fmt.Sprintf("damaged%02d.db", round))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := Open(path, BoltOptions{})
		if err != nil {
			if !strings.Contains(err.Error(), "corrupt") && !strings.Contains(err.Error(), "damaged") {
				t.Errorf("round %d: Open: %v", round, err)
			}
			continue
		}
		opened++
		var errs []error
		note := func(err error) {
			if err != nil && !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
			}
		}
		_, err = d.Counts(ctx)
		note(err)
		for c := range 40 {
			_, err = d.List(ctx, Query{Chat: Chat{Family: Group, ConversationID: fmt.Sprintf("cid%02d", c)}, Limit: 20})
			note(err)
		}
		for i := range 3000 {
			if i%37 == 0 {
				_, err = d.ByKey(ctx, fmt.Sprintf("key%05d", i))
				note(err)
				_, err = d.Get(ctx, uint64(i+1))
				note(err)
			}
		}
		e, err := d.Append(ctx, Entry{Chat: Chat{Family: Group, ConversationID: "cid07"}, MsgKey: "sampleText", SentAt: now})
		note(err)
		if err == nil {
			_, err = d.Transition(ctx, e.ID, Transition{To: Sent, Key: fmt.Sprintf("new%02d", round)})
			note(err)
		}
		note(d.Check(ctx))
		_ = d.Close()
		var ce *CorruptError
		for _, err := range errs {
			if errors.As(err, &ce) {
				damaged++
				break
			}
		}
		if len(errs) > 0 {
			failed++
		}
	}
	t.Logf("40 damaged copies: %d opened, %d saw errors, %d of them a CorruptError (a caught panic or fault)", opened, failed, damaged)
	if failed == 0 {
		t.Error("no damage was ever noticed: the test damaged nothing that is read")
	}
}
