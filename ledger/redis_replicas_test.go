package ledger

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recallbot/recallbot/internal/redistest"
)

// TestRedisRefusesForeignKeyTypes: a prefix whose fixed keys hold another
// program's data of another type is refused at open, naming the key and
// the type found, instead of failing with WRONGTYPE in the middle of a
// send.
func TestRedisRefusesForeignKeyTypes(t *testing.T) {
	s := openTestRedis(t)
	ctx := context.Background()
	for _, tc := range []struct {
		prefix, key, want string
		write             func(key string) error
	}{
		{"ft1:", "n", "key ft1:n is a string where a recallbot ledger keeps a hash", func(k string) error { return s.c.Set(ctx, k, "7", 0).Err() }},
		{"ft2:", "all", "key ft2:all is a list where a recallbot ledger keeps a zset", func(k string) error { return s.c.LPush(ctx, k, "x").Err() }},
		{"ft3:", "s:pending", "key ft3:s:pending is a zset where a recallbot ledger keeps a set", func(k string) error { return s.c.ZAdd(ctx, k, redis.Z{Score: 1, Member: "x"}).Err() }},
		{"ft4:", "seq", "key ft4:seq is a hash where a recallbot ledger keeps a string", func(k string) error { return s.c.HSet(ctx, k, "f", "v").Err() }},
		{"ft5:", "meta", "key ft5:meta is a set where a recallbot ledger keeps a string", func(k string) error { return s.c.SAdd(ctx, k, "x").Err() }},
	} {
		if err := tc.write(tc.prefix + tc.key); err != nil {
			t.Fatal(err)
		}
		_, err := OpenRedis(ctx, redistest.Shared(t).URL, RedisOptions{Prefix: tc.prefix})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.prefix+tc.key, err, tc.want)
		}
		if n, _ := s.c.Exists(ctx, tc.prefix+"meta").Result(); n != 0 && tc.key != "meta" {
			t.Errorf("%s: the refused prefix was marked as a ledger", tc.prefix)
		}
	}
}

// TestRedisURLErrorsHideThePassword: whatever is wrong with redis_url or
// the server, no error quotes a password (url.Parse quotes the whole URL).
func TestRedisURLErrorsHideThePassword(t *testing.T) {
	const secret = "s3cret-redis-pass"
	locked := redistest.Own(t, "--requirepass", "another-"+secret)
	for _, u := range []string{
		"redis://:" + secret + "@127.0.0.1:notaport/0",
		"redis://:" + secret + "@127.0.0.1:6379/0?nonsense=1",
		"redis://:" + secret + "@" + locked.Addr + "/0",
		"redis://:" + secret + "@127.0.0.1:1/0?master_name=m&password=" + secret + "&dial_timeout=100ms",
		"redis://127.0.0.1:1/0?master_name=m&addr=bad&password=" + secret,
		"redis://127.0.0.1:1/x?master_name=m&password=" + secret,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := OpenRedis(ctx, u, RedisOptions{})
		cancel()
		if err == nil {
			t.Errorf("OpenRedis(%q) opened", strings.ReplaceAll(u, secret, "…"))
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	// A password with a / or # that was not percent-encoded: url.Parse's
	// detail would quote most of it.
	for _, pw := range []string{"Zx81kP0qWm3T/9Lm", "Ab3#cdEFgh12", "qq:Ww1?xyZZ"} {
		_, err := OpenRedis(context.Background(), "redis://:"+pw+"@127.0.0.1:16391/0", RedisOptions{})
		for i := 0; err != nil && i+5 <= len(pw); i++ {
			if strings.Contains(err.Error(), pw[i:i+5]) {
				t.Errorf("the error shows %q of the password: %v", pw[i:i+5], err)
				break
			}
		}
	}
	got := RedisURLSecrets("redis://:" + secret + "@h:1/0?master_name=m&password=p2&sentinel_password=p3")
	if strings.Join(got, ",") != secret+",p2,p3" {
		t.Errorf("RedisURLSecrets = %q", got)
	}
}

// TestMinReplicas: with MinReplicas 1, a write no replica acknowledged is
// reported as not durable, never as recorded, including when it is tried
// again and finds its own earlier write on the primary; once a replica is
// back the same calls succeed. ErrNotDurable is not a TransitionError, so
// the spool keeps such a key for a later replay instead of setting it
// aside.
func TestMinReplicas(t *testing.T) {
	primary := redistest.Own(t)
	ctx := context.Background()
	// Two instances on one ledger: s gives up on the replicas quickly (the
	// writes expected to fall short), p waits long enough for a busy
	// machine (the writes expected to get through).
	s, err := OpenRedis(ctx, primary.URL, RedisOptions{MinReplicas: 1, ReplicaTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := OpenRedis(ctx, primary.URL, RedisOptions{MinReplicas: 1, ReplicaTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	// No replica: nothing new gets in, and the refused entry is closed.
	_, err = s.Append(ctx, Entry{Chat: chatA, Excerpt: "no replica"})
	var nd *NotDurableError
	var te *TransitionError
	if !errors.As(err, &nd) || !errors.Is(err, ErrNotDurable) || errors.As(err, &te) || nd.Got != 0 || nd.Want != 1 {
		t.Fatalf("Append without a replica: %v", err)
	}
	if c, _ := s.Counts(ctx); c[Pending] != 0 || c[SendFailed] != 1 {
		t.Errorf("the refused append left %v; want it closed as send_failed", c)
	}

	replica := redistest.Own(t, "--replicaof", "127.0.0.1", primary.Addr[strings.LastIndex(primary.Addr, ":")+1:])
	if err := replica.WaitReplicating(ctx, ""); err != nil {
		t.Fatal(err)
	}
	e, err := p.Append(ctx, Entry{Chat: chatA, Excerpt: "with a replica"})
	if err != nil {
		t.Fatalf("Append with a replica: %v", err)
	}
	if err := p.Sync(ctx); err != nil {
		t.Errorf("Sync with a replica: %v", err)
	}

	// The replica dies between the append and the key.
	replica.Kill()
	sent := Transition{To: Sent, Key: "k-durable"}
	if _, err := s.Transition(ctx, e.ID, sent); !errors.Is(err, ErrNotDurable) {
		t.Fatalf("Transition without a replica: %v", err)
	}
	// The primary has the key now; trying again must not take that for
	// "recorded": no replica has it yet.
	if _, err := s.Transition(ctx, e.ID, sent); !errors.Is(err, ErrNotDurable) {
		t.Errorf("the same transition again: %v", err)
	}
	if err := s.Sync(ctx); !errors.Is(err, ErrNotDurable) {
		t.Errorf("Sync without a replica: %v", err)
	}
	if err := s.Probe(ctx); !errors.Is(err, ErrNotDurable) {
		t.Errorf("Probe without a replica: %v", err)
	}
	if _, _, err := s.Record(ctx, Once{}, Entry{Chat: chatA}, Transition{To: Sent, Key: "k-record"}); !errors.Is(err, ErrNotDurable) {
		t.Errorf("Record without a replica: %v", err)
	}

	// A spooled key waits through the outage and gets in once it can.
	sp, err := OpenSpool(filepath.Join(t.TempDir(), "s.spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	_ = sp.Add(SpoolRecord{Seq: 1, Entry: e, Key: "k-durable"})
	if _, err := sp.Replay(ctx, s); !errors.Is(err, ErrNotDurable) || sp.Waiting() != 1 {
		t.Errorf("replay without a replica: %v, %d waiting", err, sp.Waiting())
	}
	if err := replica.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := replica.WaitReplicating(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Replay(ctx, p); err != nil || sp.Waiting() != 0 {
		t.Errorf("replay with the replica back: %v, %d waiting", err, sp.Waiting())
	}
	if err := p.Probe(ctx); err != nil {
		t.Errorf("Probe with the replica back: %v", err)
	}
	if got, err := p.Transition(ctx, e.ID, sent); err != nil || got.ProcessQueryKey != "k-durable" {
		t.Errorf("the same transition with the replica back: %+v %v", got, err)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}

// TestMinReplicasBroadcastStep: a broadcast no replica acknowledged is
// refused and leaves nothing behind; a step written ahead, or a dispatch
// mark, that no replica acknowledged is taken back: the step is neither
// sent, counted failed, nor left behind, and is taken again later.
func TestMinReplicasBroadcastStep(t *testing.T) {
	primary := redistest.Own(t)
	ctx := context.Background()
	s, err := OpenRedis(ctx, primary.URL, RedisOptions{MinReplicas: 1, ReplicaTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateJob(ctx, Job{ID: "b-refused"}, slices.Values([][]Chat{{chatB}})); !errors.Is(err, ErrNotDurable) {
		t.Fatalf("CreateJob without a replica: %v", err)
	}
	if _, err := s.GetJob(ctx, "b-refused"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused broadcast is still there: %v", err)
	}
	if ids, _ := s.c.SMembers(ctx, s.jstate(JobRunning)).Result(); len(ids) != 0 {
		t.Errorf("running broadcasts: %v", ids)
	}
	// The same server without the replica requirement writes the job, so
	// that its steps can be tried with it.
	plain, err := OpenRedis(ctx, primary.URL, RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.CreateJob(ctx, Job{ID: "b-nd"}, slices.Values([][]Chat{{chatB}, {chatA}})); err != nil {
		t.Fatal(err)
	}
	if _, mine, err := s.TakeJob(ctx, "b-nd", Claimant{Owner: "a", At: time.Now(), LeaseTTL: time.Hour}); err != nil || !mine {
		t.Fatal(mine, err)
	}
	if _, _, err := s.StartStep(ctx, "b-nd", "a", 0, Entry{Chat: chatB}); !errors.Is(err, ErrNotDurable) {
		t.Fatalf("StartStep without a replica: %v", err)
	}
	j, _ := s.GetJob(ctx, "b-nd")
	batch, _ := s.Batch(ctx, "b-nd")
	if j.Next != 0 || j.Failed != 0 || j.Calls != 0 || len(j.Open) != 0 || len(batch) != 0 {
		t.Errorf("after the step taken back: job %+v, entries %+v", j, batch)
	}
	e, _, err := plain.StartStep(ctx, "b-nd", "a", 0, Entry{Chat: chatB})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DispatchStep(ctx, "b-nd", "a", e.ID); !errors.Is(err, ErrNotDurable) {
		t.Fatalf("DispatchStep without a replica: %v", err)
	}
	if j, _ = s.GetJob(ctx, "b-nd"); j.Calls != 0 || len(j.Planned()) != 1 {
		t.Errorf("after the dispatch taken back: %+v", j)
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}

// lostReply is a go-redis hook for the transactions that write an entry:
// the first reaches Redis and its answer is lost, as with a connection cut
// right after EXEC; the next drop more never reach Redis, as while the
// primary is gone.
type lostReply struct {
	seen, drop int
}

func (h *lostReply) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *lostReply) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *lostReply) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 2 && cmds[0].Name() == "multi" && cmds[1].Name() == "set" {
			h.seen++
			switch {
			case h.seen == 1:
				_ = next(ctx, cmds)
				return io.ErrUnexpectedEOF
			case h.seen <= 1+h.drop:
				return io.ErrUnexpectedEOF
			}
		}
		return next(ctx, cmds)
	}
}

// TestAppendWhoseAnswerIsLost: an append applied by Redis whose answer
// never came back is reported failed (the caller sends nothing), and must
// not leave a phantom pending entry behind: it is closed at once, or, if
// Redis does not answer then either, after the next append that succeeds.
func TestAppendWhoseAnswerIsLost(t *testing.T) {
	for _, drop := range []int64{0, 1} {
		s := openTestRedis(t)
		ctx := context.Background()
		s.c.AddHook(&lostReply{drop: int(drop)})
		if _, err := s.Append(ctx, Entry{Chat: chatA, Excerpt: "its answer is lost"}); err == nil {
			t.Fatal("Append reported success")
		}
		if c, _ := s.Counts(ctx); c[Pending] != drop || c[SendFailed] != 1-drop {
			t.Errorf("drop %d, after a lost answer: %v", drop, c)
		}
		if _, err := s.Append(ctx, Entry{Chat: chatA, Excerpt: "next"}); err != nil {
			t.Errorf("the next append: %v", err)
		}
		if c, _ := s.Counts(ctx); c[Pending] != 1 || c[SendFailed] != 1 {
			t.Errorf("drop %d, after the next append: %v; want the lost one closed and the next pending", drop, c)
		}
		if err := s.Check(ctx); err != nil {
			t.Error(err)
		}
	}
}

// retriedCommand runs every command twice, as go-redis does when the
// first answer is lost (MaxRetries): the first takes effect unheard.
type retriedCommand struct{}

func (retriedCommand) DialHook(next redis.DialHook) redis.DialHook { return next }
func (retriedCommand) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n == "evalsha" || n == "eval" || n == "setnx" || n == "set" {
			_ = next(ctx, cmd)
		}
		return next(ctx, cmd)
	}
}
func (retriedCommand) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestClaimOnceSurvivesARetriedCommand: a command's once-claim whose first
// answer was lost and that go-redis sent again is still the caller's own;
// with a bare SETNX the command would be taken for a duplicate and never run.
func TestClaimOnceSurvivesARetriedCommand(t *testing.T) {
	s := openTestRedis(t)
	ctx := context.Background()
	s.c.AddHook(retriedCommand{})
	if first, err := s.ClaimOnce(ctx, "cmd", "msg-1", time.Minute); err != nil || !first {
		t.Fatalf("a retried claim: first=%v, %v", first, err)
	}
	if first, err := s.ClaimOnce(ctx, "cmd", "msg-1", time.Minute); err != nil || first {
		t.Errorf("a real second delivery: first=%v, %v", first, err)
	}
	if first, err := s.ClaimOnce(ctx, "cmd", "msg-2", 0); err != nil || !first {
		t.Errorf("without a TTL: first=%v, %v", first, err)
	}
}
