package ledger

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

// A probe is a write of no meaning that takes the path an entry's does:
// it tells a caller who saw the ledger refuse a write (a full disk, too
// few replicas) whether it takes writes again, without waiting for real
// work to find out. recall.Sender.WatchWrites probes while sends are
// refused, so readiness comes back by itself.

// probeKey is the meta bucket's probe value.
var probeKey = []byte("probe")

// boltProbeSize is how much a probe of the embedded ledger writes: the
// pages of a few entries with their indexes, in one piece. A full file
// still takes a write of a page or two into pages its earlier commits
// freed, while a send's append (an entry and five indexes) fails: a probe
// that small would call the ledger writable, and readiness would come and
// go with each send refused. One of this size needs room to grow.
const boltProbeSize = 64 << 10

// Probe writes boltProbeSize bytes under the meta bucket (a counter, then
// padding) in a commit of its own, fsynced like every other: it succeeds
// only if the file takes writes of a send's size.
func (s *Bolt) Probe(context.Context) error {
	err := s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		var n uint64
		if v := meta.Get(probeKey); len(v) >= 8 {
			n = binary.BigEndian.Uint64(v)
		}
		v := make([]byte, boltProbeSize)
		binary.BigEndian.PutUint64(v, n+1)
		return meta.Put(probeKey, v)
	})
	if err != nil {
		return fmt.Errorf("ledger probe: %w", err)
	}
	return nil
}

// Probe increments a counter in one MULTI/EXEC and, with MinReplicas,
// waits for that many replicas to have it, as the writes that record an
// entry, a key or an outcome do: it succeeds only if the ledger takes
// writes as durable as configured.
func (s *Redis) Probe(ctx context.Context) error {
	cn := s.c.Conn()
	defer cn.Close()
	return s.commit(ctx, cn, "probe", func(p redis.Pipeliner) error {
		p.Incr(ctx, s.k("sync"))
		return nil
	})
}
