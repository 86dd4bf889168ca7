package recall

import (
	"hash/maphash"

	"github.com/recallbot/recallbot/ledger"
)

// dedupe finds the targets of a broadcast given more than once. It keeps a
// 64-bit hash of each target's chat key and the index of its first
// occurrence (not a copy of the key): a hash seen
// before is compared with that first target, and only a true collision,
// which practically never happens, is kept by its key in a small map.
type dedupe struct {
	seed  maphash.Seed
	chats []ledger.Chat
	first map[uint64]int32
	other map[string]bool
}

func newDedupe(chats []ledger.Chat) *dedupe {
	return &dedupe{seed: maphash.MakeSeed(), chats: chats, first: make(map[uint64]int32, len(chats))}
}

// repeat reports whether c, chats[i] as sent (an oto chat without its
// conversation id), is a chat seen at a smaller index.
func (d *dedupe) repeat(i int, c ledger.Chat) bool {
	h := d.hash(c)
	j, ok := d.first[h]
	if !ok {
		d.first[h] = int32(i)
		return false
	}
	if sameChat(d.chats[j], c) {
		return true
	}
	if d.other == nil {
		d.other = map[string]bool{}
	}
	k := c.Key()
	if d.other[k] {
		return true
	}
	d.other[k] = true
	return false
}

func (d *dedupe) hash(c ledger.Chat) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	_, _ = h.WriteString(string(c.Family))
	_ = h.WriteByte(0)
	if c.Family == ledger.OTO {
		_, _ = h.WriteString(c.UserID)
	} else {
		_, _ = h.WriteString(c.ConversationID)
	}
	return h.Sum64()
}

// sameChat reports whether a (a target as given) and b (as sent) are one
// chat.
func sameChat(a, b ledger.Chat) bool {
	if a.Family != b.Family {
		return false
	}
	if a.Family == ledger.OTO {
		return a.UserID == b.UserID
	}
	return a.ConversationID == b.ConversationID
}
