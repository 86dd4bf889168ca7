package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/recallbot/recallbot/internal/watch"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/httpapi"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/operator"
	"github.com/recallbot/recallbot/recall"
)

const (
	token      = "client-test-token-0123456789"
	privCID    = "cidPrivate=="
	groupCID   = "cidGroup"
	releaseCID = "cidReleaseTeam=="
)

// bot is recallbot's HTTP side (ledger, sender, engine, broadcaster,
// auto-recall, alert receiver, operator, API) over the DingTalk emulator,
// served on loopback: what api.Client is tested against.
type bot struct {
	srv    *dingtalktest.Server
	led    *ledger.Bolt
	url    string
	ready  atomic.Bool
	answer *lastAnswer
	client *api.Client
}

func newBot(t *testing.T) *bot {
	t.Helper()
	b, stop, err := startBot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return b
}

// startBot starts a bot with its ledger in dir; stop stops it and waits
// for its work.
func startBot(dir string) (b *bot, stop func(), err error) {
	var closers []func()
	stop = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	srv, err := dingtalktest.NewServer(dingtalktest.Options{QPS: -1})
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { _ = srv.Close() })
	for id, kind := range map[string]dingtalktest.Kind{privCID: dingtalktest.KindPrivate, groupCID: dingtalktest.KindGroup, releaseCID: dingtalktest.KindGroup} {
		if err := srv.AddConversation(id, kind, id); err != nil {
			return nil, nil, err
		}
	}
	led, err := ledger.Open(filepath.Join(dir, "ledger.db"), ledger.BoltOptions{})
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { _ = led.Close() })
	o := srv.Options()
	dt := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode,
		CoolAppCode: o.CoolAppCode, Timeout: 2 * time.Second, QPS: 200}, nil)
	log := zap.NewNop()
	sender := recall.NewSender(led, dt, log, recall.SenderConfig{})
	engine := recall.New(led, dt, log, recall.Config{Locale: "en"})
	bc := recall.NewBroadcaster(led, dt, log, recall.BroadcastConfig{})
	ar, err := autorecall.New(autorecall.Config{Locale: "en"}, led, sender, engine, log, nil)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	closers = append(closers, func() { cancel(); wg.Wait() })
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	run(func(ctx context.Context) { bc.Run(ctx) })
	b = &bot{srv: srv, led: led, answer: &lastAnswer{}}
	b.ready.Store(true)
	op := operator.New(led, sender, engine, bc, run, operator.Config{AutoRecall: ar, Ready: b.ready.Load, Locale: "en", Log: log})
	rc := &alerts.Receiver{Config: alerts.Config{Routes: map[string]alerts.Target{"db.oncall": {Group: groupCID}}}, Ledger: led, Log: log}
	web := httptest.NewServer((&httpapi.API{Token: token, Operator: op, Ledger: led, Log: log, Alerts: rc}).Handler())
	closers = append(closers, web.Close)
	b.url = web.URL
	b.client = &api.Client{BaseURL: web.URL, Token: token, HTTP: &http.Client{Transport: b.answer}}
	return b, stop, nil
}

// lastAnswer keeps the body of the last answer the client read, so that a
// test can hold the typed value up against what the server wrote.
type lastAnswer struct {
	mu   sync.Mutex
	body []byte
}

func (l *lastAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.body = b
	l.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// same fails t unless v, as JSON, is exactly the server's last answer:
// the api type holds every field the server wrote, and writes no other.
func (b *bot) same(t *testing.T, v any) {
	t.Helper()
	b.answer.mu.Lock()
	body := b.answer.body
	b.answer.mu.Unlock()
	strict := reflect.New(reflect.TypeOf(v))
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(strict.Interface()); err != nil {
		t.Errorf("the server's answer does not fit %T: %v\n%s", v, err, body)
	}
	mine, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	_ = json.Unmarshal(mine, &got)
	_ = json.Unmarshal(body, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%T as JSON:\n%s\nthe server wrote:\n%s", v, mine, body)
	}
}

func (b *bot) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls a condition nothing signals, until ctx ends (watch.Until).
var waitFor = watch.Until
