package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestConsoleRecallOfARunningBatchStopsItsBroadcast: a batch previewed and
// recalled from the console while its broadcast is still sending stops the
// broadcast and takes back every copy, those sent after the preview and
// those on the wire included.
func TestConsoleRecallOfARunningBatchStopsItsBroadcast(t *testing.T) {
	f := newFixture(t, "en")
	// DingTalk holds the answers of the first four calls until the next
	// four are on the wire, then of those until the recall has stopped the
	// broadcast: the recall always meets a broadcast still sending, with
	// keys to take back and calls on the wire (a 300 ms delay let the
	// broadcast end before a slow preview and recall reached it).
	first := f.srv.HoldAnswers(dingtalktest.PathOTOSend, 4)
	defer first.Release()
	var chats []ledger.Chat
	for i := range 300 {
		chats = append(chats, ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprintf("c%03d", i)})
	}
	j, err := f.bc.Start(context.Background(), recall.BroadcastRequest{Chats: chats, Message: dingtalk.Text("wrong notice"), Actor: "api:hr"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := first.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	held := f.srv.HoldAnswers(dingtalktest.PathOTOSend, 4)
	defer held.Release()
	first.Release()
	if err := held.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	csrf := b.login("alice")
	a := b.post("/ui/preview", url.Values{"csrf": {csrf}, "batch": {j.ID}})
	code := regexp.MustCompile(`<code id="code">([A-Z2-9]{6})</code>`).FindStringSubmatch(a.body)
	if a.status != 200 || code == nil {
		t.Fatalf("preview: %d %s", a.status, a.body)
	}
	a = b.post("/ui/recall", url.Values{"csrf": {csrf}, "plan": {field(a.body, "plan")}, "confirm": {code[1]}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("recall: %d %s", a.status, a.body)
	}
	waitFor(t, "the broadcast stopped", func() bool {
		st, err := f.bc.Status(context.Background(), j.ID)
		return err == nil && st.State == ledger.JobCancelled
	})
	held.Release()
	events(t, b, a.header.Get("Location")+"/events")
	st, _ := f.bc.Status(context.Background(), j.ID)
	shown := 0
	for _, m := range f.srv.BotMessages() {
		if !m.Recalled {
			shown++
		}
	}
	if st.State != ledger.JobCancelled || st.Pending() != 0 || shown != 0 || st.Sent+st.Cancelled != 300 {
		t.Errorf("after the console's recall: job %s sent %d cancelled %d pending %d; %d copies shown", st.State, st.Sent, st.Cancelled, st.Pending(), shown)
	}
}
