package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/api"
)

// TestBroadcastCountsInTheConsolesWords: the CLI says a broadcast's counts
// with the console's words (recall.BroadcastCounts), in either language,
// cancelled people after them.
func TestBroadcastCountsInTheConsolesWords(t *testing.T) {
	b := api.Broadcast{BatchID: "b-1", State: "done", Recipients: 2, Sent: 2, SendCalls: 1}
	c := api.Broadcast{BatchID: "b-2", State: "cancelled", Recipients: 5, Sent: 1, Failed: 1, Cancelled: 3, SendCalls: 1}
	for _, tc := range []struct {
		lang string
		b    api.Broadcast
		want string
	}{
		{"en", b, "broadcast b-1: done; 2 of 2 (0 refused, 0 pending); 1 send call\n"},
		{"zh", b, "群发 b-1：已完成；2 / 2 人（失败 0，待发 0）；"},
		{"en", c, "broadcast b-2: cancelled; 1 of 5 (1 refused, 0 pending) · 3 cancelled; 1 send call\n"},
		{"zh", c, "群发 b-2：已取消；1 / 5 人（失败 1，待发 0） · 取消 3；"},
	} {
		var out bytes.Buffer
		(&ctl{lang: tc.lang}).printBroadcast(&out, tc.b)
		if !strings.HasPrefix(out.String(), tc.want) {
			t.Errorf("printBroadcast(%s, %s) = %q, want it to start %q", tc.lang, tc.b.BatchID, out.String(), tc.want)
		}
	}
}
