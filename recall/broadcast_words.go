package recall

import "fmt"

// BroadcastCountWords are a broadcast's counts in words, Chinese first:
// the people reached of all its recipients, then those DingTalk refused
// and those not sent yet. The console's list and the CLI say a
// broadcast's counts with these same words (BroadcastCounts), so a reader
// of both sees one sentence, not "2 sent, 0 failed" beside "2 of 2".
var BroadcastCountWords = [2]string{"%d / %d 人（失败 %d，待发 %d）", "%d of %d (%d refused, %d pending)"}

// BroadcastCancelledWords are the people a cancel kept from a broadcast,
// said after its counts (the console's short form).
var BroadcastCancelledWords = [2]string{"取消 %d", "%d cancelled"}

// BroadcastCounts is a broadcast's counts in locale ("en", else Chinese),
// with the people cancelled when cancelled is true.
func BroadcastCounts(locale string, sent, recipients, failed, pending, cancelled int, wasCancelled bool) string {
	i := 0
	if locale == "en" {
		i = 1
	}
	s := fmt.Sprintf(BroadcastCountWords[i], sent, recipients, failed, pending)
	if cancelled > 0 || wasCancelled {
		s += " · " + fmt.Sprintf(BroadcastCancelledWords[i], cancelled)
	}
	return s
}
