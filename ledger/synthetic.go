package ledger

import (
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BuildSynthetic writes a ledger of n sent entries spread round-robin over
// chats private conversations, for benchmarks and load tests: entry i has
// key "key%08d" and chat "cid%05d" (i mod chats), sent a millisecond apart
// ending an hour ago. It writes in large transactions without fsync, then
// syncs once, so a million entries take seconds rather than minutes. The
// file must not exist.
func BuildSynthetic(path string, n, chats int) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("ledger %s already exists", path)
	}
	s, err := Open(path, BoltOptions{NoSync: true})
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now().Add(-time.Hour - time.Duration(n)*time.Millisecond)
	const step = 50_000
	for base := 0; base < n; base += step {
		end := min(base+step, n)
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i := base; i < end; i++ {
				id := uint64(i + 1)
				e := Entry{ID: id, Chat: Chat{Family: Private, ConversationID: fmt.Sprintf("cid%05d", i%chats)},
					ProcessQueryKey: fmt.Sprintf("key%08d", i), MsgKey: "sampleText", Excerpt: "disk 93% on db-7, please check",
					ContentHash: "0123456789abcdef", SentAt: start.Add(time.Duration(i) * time.Millisecond), Origin: OriginAPI, State: Sent}
				e.UpdatedAt = e.SentAt
				if err := putEntry(tx, e); err != nil {
					return err
				}
				if err := tx.Bucket(bChats).Put(idKey(e.Chat.Key(), id), nil); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bEntries).SetSequence(uint64(end)); err != nil {
				return err
			}
			return bump(tx, Sent, int64(end-base))
		})
		if err != nil {
			return err
		}
	}
	return s.db.Sync()
}
