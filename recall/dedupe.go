package recall

import (
	"cmp"
	"slices"

	"github.com/recallbot/recallbot/ledger"
)

// repeats finds the targets of a broadcast given more than once: bit i of
// the returned set is set when chats[i] is a chat given at a smaller
// index. It sorts the targets' indexes (4 bytes a target, freed when it
// returns) rather than keeping a map of their keys, so that a broadcast to
// 100,000 costs little more than its request; the set itself is a bit a
// target.
func repeats(chats []ledger.Chat) []uint64 {
	order := make([]int32, len(chats))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := compareChats(chats[a], chats[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b) // the first occurrence first
	})
	set := make([]uint64, (len(chats)+63)/64)
	for k := 1; k < len(order); k++ {
		if compareChats(chats[order[k-1]], chats[order[k]]) == 0 {
			i := order[k]
			set[i/64] |= 1 << (i % 64)
		}
	}
	return set
}

// repeated reports whether bit i of a set from repeats is set.
func repeated(set []uint64, i int) bool { return set[i/64]&(1<<(i%64)) != 0 }

// compareChats orders chats by family and id; an oto chat is its user
// alone (the conversation id a caller may have given does not count).
func compareChats(a, b ledger.Chat) int {
	if c := cmp.Compare(a.Family, b.Family); c != 0 {
		return c
	}
	if a.Family == ledger.OTO {
		return cmp.Compare(a.UserID, b.UserID)
	}
	return cmp.Compare(a.ConversationID, b.ConversationID)
}
