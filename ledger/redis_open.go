package ledger

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the shared ledger for several bot instances. State changes are
// optimistic transactions (WATCH the entry, check the transition in Go with
// the same state machine as the embedded store, then MULTI/EXEC), so two
// instances can never both claim a key. IDs come from one INCR counter, so
// every instance sees one order per conversation.
//
// Durability is Redis's: run it with appendonly yes and appendfsync always
// for "durable when the call returns" (see docs/operations.md). Behind
// Sentinel, a failover loses what the replicas had not received, unless
// RedisOptions.MinReplicas makes the writes that matter wait for them.
type Redis struct {
	c *redis.Client
	p string // key prefix

	minReplicas    int
	replicaTimeout time.Duration

	mu        sync.Mutex
	abandoned []Entry // appends whose answer was lost, to close (see abandon)
}

// RedisOptions tunes the shared store.
type RedisOptions struct {
	// Prefix is prepended to every key; default "recallbot:". Instances
	// sharing a ledger must use the same one.
	Prefix string
	// MinReplicas, when above 0, makes every write that creates an entry
	// or records its key or outcome (Append, Record, Transition,
	// TransitionAll, StartStep, SettleStep, Sync) wait until that many
	// replicas have acknowledged it (Redis WAIT). A write fewer replicas
	// acknowledged within ReplicaTimeout fails with a *NotDurableError,
	// although the primary applied it: a failover could still lose it, so
	// it must not be reported as recorded. 0 (the default) waits for
	// nothing: what the primary acknowledged counts.
	MinReplicas int
	// ReplicaTimeout bounds each wait for the replicas; default 1 s.
	ReplicaTimeout time.Duration
}

// redisMagic marks a recallbot ledger under the prefix. Version 1 ledgers
// are upgraded on open (see schemaVersion); newer ones are refused.
const (
	redisMagicV1 = "recallbot-ledger/1"
	redisMagic   = "recallbot-ledger/2"
)

// OpenRedis connects to the Redis a URL names and checks that its keys
// under the prefix belong to a recallbot ledger. Two forms:
//
//	redis://[:PASSWORD@]HOST:PORT[/DB]
//	redis://[:SENTINEL_PASSWORD@]SENTINEL1:26379[/DB]?master_name=NAME&addr=SENTINEL2:26379&addr=SENTINEL3:26379[&password=PASSWORD]
//
// The second, go-redis's failover URL (recognised by master_name), asks
// the Sentinels for the primary of NAME and follows it through a failover;
// password is the primary's and replicas', the URL's own the Sentinels'.
// Both take go-redis's other options as query parameters (max_retries,
// dial_timeout, ...). No error names a password: url.Parse quotes the
// whole URL in its errors, so those are cut down to what went wrong.
func OpenRedis(ctx context.Context, rawURL string, opts RedisOptions) (*Redis, error) {
	if opts.Prefix == "" {
		opts.Prefix = "recallbot:"
	}
	if opts.ReplicaTimeout <= 0 {
		opts.ReplicaTimeout = time.Second
	}
	if opts.MinReplicas < 0 {
		return nil, fmt.Errorf("ledger: min_replicas must not be negative, not %d", opts.MinReplicas)
	}
	c, where, err := newRedisClient(rawURL)
	if err != nil {
		return nil, fmt.Errorf("ledger.redis_url: %w", withoutURL(err))
	}
	s := &Redis{c: c, p: opts.Prefix, minReplicas: opts.MinReplicas, replicaTimeout: opts.ReplicaTimeout}
	if err := s.claimPrefix(ctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("ledger redis %s: %w", where, err)
	}
	return s, nil
}

// newRedisClient builds the client for a redis_url of either form and
// says where it points, for errors: the server's address, or the master
// name and the Sentinels.
func newRedisClient(rawURL string) (*redis.Client, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", err
	}
	// Fail fast when Redis is down: the sender retries a key on its own
	// terms and spools it, and a command is refused at once rather than
	// after go-redis's default five dials per retry. The URL may say more.
	retries := !u.Query().Has("max_retries")
	if !u.Query().Has("master_name") {
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, "", err
		}
		if retries {
			o.MaxRetries = 1
		}
		if o.DialerRetries == 0 {
			o.DialerRetries = 2
		}
		return redis.NewClient(o), o.Addr, nil
	}
	o, err := redis.ParseFailoverURL(rawURL)
	if err != nil {
		return nil, "", err
	}
	if o.MasterName == "" {
		return nil, "", errors.New("master_name is empty: name the master the Sentinels monitor")
	}
	if retries {
		o.MaxRetries = 1
	}
	if o.DialerRetries == 0 {
		o.DialerRetries = 2
	}
	where := fmt.Sprintf("master %s via sentinels %s", o.MasterName, strings.Join(o.SentinelAddrs, ","))
	return redis.NewFailoverClient(o), where, nil
}

// withoutURL returns err without the URL url.Parse quotes in its errors,
// password included. Its detail goes too: it quotes the piece it could
// not read ("invalid port \":Zx81…\""), which, for a password holding a
// / ? # or @ that was not percent-encoded, is most of the password.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New("not a valid URL (if its password holds / ? # @ : or %, percent-encode them: %2F %3F %23 %40 %3A %25)")
	}
	return err
}

// RedisURLSecrets lists the passwords a redis_url holds (the server's or
// the Sentinels'), for the log redactor: a URL may reach a log line only
// through a bug, and then without them.
func RedisURLSecrets(rawURL string) []string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	var out []string
	if p, ok := u.User.Password(); ok && p != "" {
		out = append(out, p)
	}
	for _, name := range []string{"password", "sentinel_password"} {
		if p := u.Query().Get(name); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// redisKeyTypes are the ledger's fixed keys under its prefix, with the
// type each holds. A key of another type means another program shares
// the prefix; writing there would fail later with WRONGTYPE, mid-send.
var redisKeyTypes = []struct{ key, typ string }{
	{"meta", "string"}, {"seq", "string"}, {"sync", "string"}, {"n", "hash"},
	{"all", "zset"}, {"x", "zset"}, {"a", "zset"}, {"a:seq", "string"}, {"access", "zset"}, {"access:seq", "string"},
	{"s:" + string(Pending), "set"}, {"s:" + string(Recalling), "set"}, {"s:" + string(RecallFailed), "set"},
	{"jobs:" + string(JobRunning), "set"}, {"jobs:" + string(JobDone), "set"}, {"jobs:" + string(JobCancelled), "set"},
	{"agdue", "set"}, {"agall", "zset"},
}

// claimPrefix checks that the keys under the prefix are a recallbot
// ledger's, or absent, and marks the prefix as one. A version 1 ledger is
// upgraded.
func (s *Redis) claimPrefix(ctx context.Context) error {
	if err := s.checkKeyTypes(ctx); err != nil {
		return err
	}
	ok, err := s.c.SetNX(ctx, s.k("meta"), redisMagic, 0).Result()
	if err != nil || ok {
		return err
	}
	v, err := s.c.Get(ctx, s.k("meta")).Result()
	if err == nil && v == redisMagicV1 {
		err = s.c.Set(ctx, s.k("meta"), redisMagic, 0).Err()
		v = redisMagic
	}
	if err != nil {
		return fmt.Errorf("reading key %s: %w", s.k("meta"), err)
	}
	if v != redisMagic {
		return fmt.Errorf("key %s holds %.40q, not a recallbot ledger of this version; use another database (the /N of ledger.redis_url) or ledger.redis_prefix", s.k("meta"), v)
	}
	return nil
}

// checkKeyTypes refuses a prefix whose fixed keys hold the wrong types,
// naming the first such key and what it holds.
func (s *Redis) checkKeyTypes(ctx context.Context) error {
	cmds := make([]*redis.StatusCmd, len(redisKeyTypes))
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, kt := range redisKeyTypes {
			cmds[i] = p.Type(ctx, s.k(kt.key))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, kt := range redisKeyTypes {
		if got := cmds[i].Val(); got != "none" && got != kt.typ {
			return fmt.Errorf("key %s is a %s where a recallbot ledger keeps a %s: another program uses this prefix; use another database (the /N of ledger.redis_url) or ledger.redis_prefix",
				s.k(kt.key), got, kt.typ)
		}
	}
	return nil
}
