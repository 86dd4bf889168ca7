package dingtalktest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/client"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// BenchmarkStreamFramesACKed pushes b.N bot-message frames to one real SDK
// connection with a trivial handler and waits until every one is ACKed.
// Target: at least 5,000 frames/s, so the emulator never bounds the bot.
func BenchmarkStreamFramesACKed(b *testing.B) {
	srv := newServer(b, dingtalktest.Options{})
	sdkClient(b, srv, func(context.Context, *chatbot.BotCallbackDataModel) ([]byte, error) { return nil, nil },
		client.WithMaxPendingHandlers(100000))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := srv.PushMessage(dingtalktest.UserMessage{SenderStaffID: "u1", Text: fmt.Sprint("m", i)}); err != nil {
			b.Fatal(err)
		}
	}
	if err := srv.WaitUntil(ctx, func() bool { return srv.StreamStats().ACKed >= b.N }); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
}

// BenchmarkOpenAPICalls sends messages over loopback from parallel clients
// with the rate limit off. Target: at least 2,000 calls/s.
func BenchmarkOpenAPICalls(b *testing.B) {
	srv := newServer(b, dingtalktest.Options{QPS: -1})
	tok := accessToken(b, srv)
	_ = srv.AddConversation("cidbench", dingtalktest.KindGroup, "")
	body := `{"robotCode":"dingemulatorbot","openConversationId":"cidbench","msgKey":"sampleText","msgParam":"{\"content\":\"hi\"}"}`
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL()+dingtalktest.PathGroupSend, strings.NewReader(body))
			req.Header.Set("x-acs-dingtalk-access-token", tok)
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}
