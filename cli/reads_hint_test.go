package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/api"
)

// TestReadsHintReadsLikeTheChat: the CLI's hint to ask who has read the
// messages is a sentence, as the chat's is, with its duration in words.
func TestReadsHintReadsLikeTheChat(t *testing.T) {
	r := api.Receipt{DryRun: true, Calls: 1, ReadStatusCost: &api.ReadCost{Calls: 1, Seconds: 0.2}}
	for _, tc := range []struct{ lang, want string }{
		{"en", "Want to see who has read it first? Add --read-status (1 query call, about 1 second)."},
		{"zh", "想先看谁已读？加上 --read-status（需 1 次查询调用，约 1 秒）。"},
	} {
		var out bytes.Buffer
		(&ctl{lang: tc.lang}).printReceipt(&out, r)
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("in %s:\n%s\nwant %q", tc.lang, out.String(), tc.want)
		}
	}
}
