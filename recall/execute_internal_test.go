package recall

import (
	"fmt"
	"testing"

	"github.com/recallbot/recallbot/ledger"
)

// TestFirstClaimIsShort: a recall of thousands claims its first calls in
// a transaction of firstClaimStep entries, so that its first call goes
// out after that one short write, and the rest in steps of claimStep,
// every call whole and in order. (The first step was 1,000 entries: 22 ms
// of claiming before a 4,000-key recall's first call, 15 ms now.)
func TestFirstClaimIsShort(t *testing.T) {
	var groups []group
	for c := range 200 {
		g := group{family: ledger.Private, conv: fmt.Sprintf("cid%03d", c)}
		for k := range 20 {
			g.entries = append(g.entries, ledger.Entry{ID: uint64(c*20 + k + 1)})
		}
		groups = append(groups, g)
	}
	steps := claimSteps(groups)
	var sizes []int
	next := uint64(1)
	for _, st := range steps {
		n := 0
		for _, g := range st {
			for _, en := range g.entries {
				if en.ID != next {
					t.Fatalf("entry %d claimed where %d was due", en.ID, next)
				}
				next++
			}
			n += len(g.entries)
		}
		sizes = append(sizes, n)
	}
	if want := []int{firstClaimStep, claimStep, claimStep, claimStep, 4000 - firstClaimStep - 3*claimStep}; fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Errorf("claim steps of %v entries, want %v", sizes, want)
	}
}
