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
	f.srv.Delay(dingtalktest.PathOTOSend, 300*time.Millisecond, 100) // several calls always on the wire
	var chats []ledger.Chat
	for i := range 300 {
		chats = append(chats, ledger.Chat{Family: ledger.OTO, UserID: fmt.Sprintf("c%03d", i)})
	}
	j, err := f.bc.Start(context.Background(), recall.BroadcastRequest{Chats: chats, Message: dingtalk.Text("wrong notice"), Actor: "api:hr"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "calls on the wire", func() bool { return f.srv.InFlight() >= 4 && f.srv.CountCalls(dingtalktest.PathOTOSend) >= 4 })
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
