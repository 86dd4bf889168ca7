package ledger

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const crashChildEnv = "RECALLBOT_LEDGER_CRASH_CHILD"

// crashChild appends and acknowledges entries from four goroutines until it
// is killed, printing "ack ID KEY" after each acknowledged transition.
func crashChild() {
	s, err := Open(os.Getenv(crashChildEnv), BoltOptions{LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Chat{Family: Group, ConversationID: fmt.Sprint("cid", w)}
			for i := 0; ; i++ {
				e, err := s.Append(context.Background(), Entry{Chat: c, MsgKey: "sampleText", Excerpt: fmt.Sprint(i)})
				if err != nil {
					fmt.Println("append:", err)
					os.Exit(2)
				}
				key := fmt.Sprintf("crash-%d-%d-%d", os.Getpid(), w, i)
				if _, err := s.Transition(context.Background(), e.ID, Transition{To: Sent, Key: key}); err != nil {
					fmt.Println("transition:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %d %s\n", e.ID, key)
				_ = out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestKillNineLosesNothing kills a writer with SIGKILL at random moments,
// 20 times, and finds every acknowledged entry after each reopen, with
// bbolt's and the ledger's own integrity checks clean.
func TestKillNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("20 child processes")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	acked := map[uint64]string{}
	for round := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of acknowledgements, so the kill lands
		// at a random point of the write path.
		killAt := 5 + rand.IntN(200)
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "ack" {
				t.Fatalf("round %d: child said %q", round, sc.Text())
			}
			id, _ := strconv.ParseUint(f[1], 10, 64)
			acked[id] = f[2]
			if n++; n == killAt {
				_ = cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		_ = cmd.Wait()
		s, err := Open(path, BoltOptions{})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		ctx := context.Background()
		for id, key := range acked {
			e, err := s.ByKey(ctx, key)
			if err != nil || e.ID != id || e.State != Sent {
				t.Fatalf("round %d: acknowledged entry %d (%s) = %+v, %v", round, id, key, e, err)
			}
		}
		if err := s.Check(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		_ = s.Close()
	}
	t.Logf("%d acknowledged entries survived 20 kills", len(acked))
}

func TestOpenRefusesWhatIsNotALedger(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	_ = os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 500)), 0o600)
	foreign := filepath.Join(dir, "foreign.db")
	db, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
	_ = db.Close()
	tests := []struct{ path, want string }{
		{garbage, "not a recallbot ledger or is corrupt"},
		{foreign, "a bbolt file of another program"},
		{dir, "is a directory"},
	}
	for _, tt := range tests {
		_, err := Open(tt.path, BoltOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%s) = %v, want an error saying %q", filepath.Base(tt.path), err, tt.want)
		}
	}
	// And the files are left as they were.
	if b, _ := os.ReadFile(garbage); !strings.HasPrefix(string(b), "not a database") {
		t.Error("Open overwrote the garbage file")
	}
}

func TestOpenRefusesALockedLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	s, err := Open(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Open(path, BoltOptions{LockTimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("second Open = %v", err)
	}
}

func TestCorruptEntryIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	s, _ := Open(path, BoltOptions{})
	e := mustSend(t, s, chatA, "x")
	_ = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bEntries).Put(be64(e.ID), []byte{1, 200}) })
	if err := s.Check(context.Background()); err == nil {
		t.Error("Check passed a corrupt entry")
	}
	if _, err := s.Get(context.Background(), e.ID); err == nil {
		t.Error("Get decoded a corrupt entry")
	}
	_ = s.Close()
}

func TestCodecRoundTrip(t *testing.T) {
	now := time.Unix(0, time.Now().UnixNano())
	e := Entry{ID: 7, Chat: Chat{Family: OTO, ConversationID: "cid", UserID: "u"}, ProcessQueryKey: "k=", MsgKey: "sampleMarkdown",
		Excerpt: "你好 world", ContentHash: "abcd", SentAt: now, Origin: OriginAuto, Actor: "rule:secret", BatchID: "b",
		ExpiresAt: now.Add(time.Hour), State: RecallFailed, Reason: "SYSTEM_ERROR", UpdatedAt: now, Supersedes: 3, SupersededBy: 9,
		ClaimedBy: "host-1-abc", DueAt: now.Add(time.Minute), Recipients: []string{"u", "v", "w"}}
	got, err := decodeEntry(encodeEntry(e))
	if err != nil || !reflect.DeepEqual(got, e) {
		t.Errorf("round trip = %+v, %v\nwant %+v", got, err, e)
	}
	// Version 2 as first written, before Recipients: it ends after DueAt.
	short := e
	short.Recipients = nil
	early := encodeEntry(short)
	early = early[:len(early)-1] // without the recipients' count
	if got, err := decodeEntry(early); err != nil || !reflect.DeepEqual(got, short) {
		t.Errorf("an entry written before recipients = %+v, %v", got, err)
	}
	for i := range len(encodeEntry(e)) {
		if i == len(early) {
			continue // that very form
		}
		if _, err := decodeEntry(encodeEntry(e)[:i]); err == nil {
			t.Errorf("decoding %d of %d bytes succeeded", i, len(encodeEntry(e)))
		}
	}
}

// TestKeyIndexHoldingOnlyAnID: a key index value of just the entry's ID
// (as the first files were written) is still read, through the entries.
func TestKeyIndexHoldingOnlyAnID(t *testing.T) {
	s, _ := Open(filepath.Join(t.TempDir(), "l.db"), BoltOptions{})
	defer s.Close()
	e := mustSend(t, s, chatA, "old format")
	_ = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bKeys).Put([]byte(e.ProcessQueryKey), be64(e.ID)) })
	got, err := s.ByKey(context.Background(), e.ProcessQueryKey)
	found, _, err2 := s.ByKeys(context.Background(), []string{e.ProcessQueryKey})
	if err != nil || err2 != nil || got.Excerpt != "old format" || len(found) != 1 || found[0].ID != e.ID {
		t.Errorf("ByKey = %+v, %v; ByKeys = %+v, %v", got, err, found, err2)
	}
	if err := s.Check(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestPruneAlongsideWriters prunes thousands of old entries while writers
// append: pruning works in transactions of pruneStep entries, so the
// writers' appends interleave with it, and the store stays consistent.
func TestPruneAlongsideWriters(t *testing.T) {
	s, _ := Open(filepath.Join(t.TempDir(), "l.db"), BoltOptions{})
	defer s.Close()
	ctx := context.Background()
	old := time.Now().Add(-60 * 24 * time.Hour)
	_ = s.db.Update(func(tx *bolt.Tx) error {
		for i := range 3 * pruneStep {
			id, _ := tx.Bucket(bEntries).NextSequence()
			e := Entry{ID: id, Chat: chatA, SentAt: old.Add(time.Duration(i)), State: Sent, ProcessQueryKey: fmt.Sprint("old", i), UpdatedAt: old}
			if err := putEntry(tx, e); err != nil {
				return err
			}
			_ = tx.Bucket(bChats).Put(idKey(e.Chat.Key(), id), nil)
		}
		return bump(tx, Sent, 3*pruneStep)
	})
	done := make(chan struct{})
	var appended int
	go func() {
		defer close(done)
		for range 200 {
			if _, err := s.Append(ctx, Entry{Chat: chatB, MsgKey: "sampleText"}); err != nil {
				t.Error(err)
				return
			}
			appended++
		}
	}()
	n, err := s.Prune(ctx, time.Now().Add(-30*24*time.Hour))
	<-done
	if err != nil || n != 3*pruneStep {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	if c, _ := s.Counts(ctx); c.Total() != int64(appended) || c[Pending] != 200 {
		t.Errorf("counts %v after pruning, %d appended", c, appended)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}

// TestReopenDropsLeases: a lease in a file just opened belongs to a process
// that stopped (one process holds the file at a time): it is gone at once,
// so that its claims and broadcasts are taken over without waiting for it
// to lapse. Other temporary values stay.
func TestReopenDropsLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := Open(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_ = s.PutTemp(ctx, LeaseNS, "dead-owner", nil, time.Hour)
	_ = s.PutTemp(ctx, "confirm", "ABC123", []byte("x"), time.Hour)
	_ = s.Close()
	if s, err = Open(path, BoltOptions{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	peek := func([]byte) bool { return false }
	if _, found, _, _ := s.TakeTempIf(ctx, LeaseNS, "dead-owner", peek); found {
		t.Error("the stopped process's lease survived the reopen")
	}
	if _, found, _, _ := s.TakeTempIf(ctx, "confirm", "ABC123", peek); !found {
		t.Error("a confirmation code did not survive the reopen")
	}
}
