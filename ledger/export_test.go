package ledger

import (
	bolt "go.etcd.io/bbolt"
)

// Baselines for the benchmarks in package ledger_test: the bare bbolt work
// under a query, on the same open file, so each benchmark's figure can be
// read as a ratio to it, measured in the same run (the machines are shared
// and noisy; absolute times travel badly).

// RawLast walks chat's index back from its newest entry and reads the
// stored bytes of n entries with a bare bbolt cursor: the B+tree work of
// "last n" without decoding, filtering or building entries. It returns
// how many entries it read and their total size.
func RawLast(s *Bolt, chat Chat, n int) (read, size int, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		entries := tx.Bucket(bEntries)
		walkBack(tx.Bucket(bChats), chat.Key(), 0, func(id uint64) bool {
			size += len(entries.Get(be64(id)))
			read++
			return read < n
		})
		return nil
	})
	return read, size, err
}

// RawKeys looks each key up in the key index with a bare bbolt Get, one
// read transaction, in the order given: the B+tree work of resolving keys
// without decoding entries. It returns how many it found.
func RawKeys(s *Bolt, keys []string) (found int, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bKeys)
		for _, k := range keys {
			if idx.Get([]byte(k)) != nil {
				found++
			}
		}
		return nil
	})
	return found, err
}
