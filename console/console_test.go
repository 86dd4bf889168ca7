package console

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestLoginSetsASessionCookie: the right token and a name open a session
// in an HttpOnly, SameSite=Strict cookie for /ui/ that holds a random id,
// never the token; the login is in the access trail as api:<name>.
func TestLoginSetsASessionCookie(t *testing.T) {
	f := newFixture(t, "en")
	b := f.browser()
	if a := b.get("/ui/login"); a.status != 200 || !strings.Contains(a.body, `name="token"`) || a.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("login form: %d %v", a.status, a.header)
	}
	a := b.post("/ui/login", url.Values{"token": {testToken}, "name": {"alice"}, "next": {"/ui/audit"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/audit" {
		t.Fatalf("login: %d %q", a.status, a.header.Get("Location"))
	}
	raw := a.header.Get("Set-Cookie")
	for _, want := range []string{"recallbot_console=", "Path=/ui/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(raw, want) {
			t.Errorf("Set-Cookie %q lacks %s", raw, want)
		}
	}
	if strings.Contains(raw, testToken) || !regexp.MustCompile(`recallbot_console=[0-9a-f]{64};`).MatchString(raw) {
		t.Errorf("the cookie is not a random id: %q", raw)
	}
	// The session works, and is named on every page.
	if page := b.get("/ui/audit"); page.status != 200 || !strings.Contains(page.body, `>alice</span>`) {
		t.Errorf("with the session: %d", page.status)
	}
	recs, _ := f.led.Audit(context.Background(), ledger.AuditQuery{Trail: ledger.TrailAccess, Limit: 5})
	if len(recs) != 1 || recs[0].Action != "console.login" || recs[0].Actor != "api:alice" || !recs[0].Allowed {
		t.Errorf("access trail: %+v", recs)
	}
	// A redirect after login never leaves the console.
	for _, next := range []string{"https://evil.example/", "//evil.example/ui/", "/v1/audit", "/ui/login"} {
		a := f.browser().post("/ui/login", url.Values{"token": {testToken}, "name": {"alice"}, "next": {next}})
		if a.header.Get("Location") != "/ui/" {
			t.Errorf("next %q -> %q", next, a.header.Get("Location"))
		}
	}
	// A name that could not stand in the audit trail is refused.
	if a := f.browser().post("/ui/login", url.Values{"token": {testToken}, "name": {"<b>x</b>"}}); a.status != 400 || strings.Contains(a.body, "<b>x</b>") {
		t.Errorf("bad name: %d", a.status)
	}
	// Logging out ends the session on the server, not only in the browser.
	csrf := b.csrf()
	cookie := b.c.Jar.Cookies(mustURL(f.web.URL + "/ui/"))
	if a := b.post("/ui/logout", url.Values{"csrf": {csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", a.status)
	}
	replay := f.browser()
	replay.c.Jar.SetCookies(mustURL(f.web.URL+"/ui/"), cookie)
	if a := replay.get("/ui/"); a.status != http.StatusSeeOther {
		t.Errorf("the old cookie still works: %d", a.status)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestWrongTokenIsRefusedAndAudited: a wrong token is 401, goes to the
// access trail like a refused API request, and after five failures the
// source is refused even with the right token, until it waits.
func TestWrongTokenIsRefusedAndAudited(t *testing.T) {
	f := newFixture(t, "en")
	b := f.browser()
	a := b.post("/ui/login", url.Values{"token": {"guess-0123456789"}, "name": {"mallory"}})
	if a.status != http.StatusUnauthorized || a.header.Get("Set-Cookie") != "" || !strings.Contains(a.body, "That token is wrong") {
		t.Fatalf("wrong token: %d %q", a.status, a.header.Get("Set-Cookie"))
	}
	recs, _ := f.led.Audit(context.Background(), ledger.AuditQuery{Trail: ledger.TrailAccess, Limit: 5})
	if len(recs) != 1 || recs[0].Action != "http.unauthorized" || recs[0].Scope != "POST /ui/login" || recs[0].Actor != "http:127.0.0.1" ||
		recs[0].Why != "wrong_token" || recs[0].Note != `"mallory"` {
		t.Errorf("access trail: %+v", recs)
	}
	if strings.Contains(fmt.Sprint(recs), "guess-0123456789") {
		t.Error("the guessed token was written down")
	}
	for range 4 {
		b.post("/ui/login", url.Values{"token": {"guess"}, "name": {"mallory"}})
	}
	a = b.post("/ui/login", url.Values{"token": {testToken}, "name": {"mallory"}})
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" || a.header.Get("Set-Cookie") != "" {
		t.Fatalf("sixth try, right token: %d %v", a.status, a.header)
	}
	// The limit passes with time (one more try per 30 s).
	f.clock.Advance(31 * time.Second)
	if a := b.post("/ui/login", url.Values{"token": {testToken}, "name": {"alice"}}); a.status != http.StatusSeeOther {
		t.Errorf("after waiting: %d", a.status)
	}
	// The refusals share the API's per-minute bounds: one record per source
	// and minute in full, the rest counted (written when the minute ends).
	recs, _ = f.led.Audit(context.Background(), ledger.AuditQuery{Trail: ledger.TrailAccess, Limit: 20})
	n := 0
	for _, r := range recs {
		if r.Action == "http.unauthorized" && r.Actor == "http:127.0.0.1" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d full refusal records in a minute, want 1: %+v", n, recs)
	}
}

// TestNoSessionRedirectsOrIs401: without a session a page sends the
// browser to the login form (and back), a script gets 401, a form post
// goes to the login; a forged or expired cookie is no session.
func TestNoSessionRedirectsOrIs401(t *testing.T) {
	f := newFixture(t, "en")
	b := f.browser()
	a := b.get("/ui/broadcasts?x=1")
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/login?next="+url.QueryEscape("/ui/broadcasts?x=1") {
		t.Errorf("page: %d %q", a.status, a.header.Get("Location"))
	}
	for _, h := range [][]string{{"Accept", "application/json"}, {"Accept", "text/event-stream"}, {"X-Requested-With", "fetch"}} {
		if a := b.get("/ui/read?key=k", h...); a.status != http.StatusUnauthorized || !strings.Contains(a.body, `"error"`) {
			t.Errorf("script %v: %d %s", h, a.status, a.body)
		}
	}
	if a := b.post("/ui/recall", url.Values{"plan": {"x"}}); a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/login" {
		t.Errorf("form post: %d %q", a.status, a.header.Get("Location"))
	}
	b.c.Jar.SetCookies(mustURL(f.web.URL+"/ui/"), []*http.Cookie{{Name: cookieName, Value: strings.Repeat("ab", 32)}})
	if a := b.get("/ui/"); a.status != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", a.status)
	}
	b.login("alice")
	f.clock.Advance(31 * time.Minute) // idle past SessionIdle
	if a := b.get("/ui/"); a.status != http.StatusSeeOther {
		t.Errorf("idle session: %d", a.status)
	}
	// The API's routes still want the bearer token, session or not.
	b.login("alice")
	if a := b.get("/v1/audit"); a.status != http.StatusUnauthorized {
		t.Errorf("/v1 with a console session: %d", a.status)
	}
}

// TestPostWithoutCSRFIsForbidden: with a session, a request that changes
// something is refused (403) without the session's CSRF token, with
// another session's, or from another site; nothing happens.
func TestPostWithoutCSRFIsForbidden(t *testing.T) {
	f := newFixture(t, "en")
	e := f.send(privChat, "release at 20:00", recall.SendOptions{})
	b := f.browser()
	csrf := b.login("alice")
	other := f.browser().login("bob")
	for name, form := range map[string]url.Values{
		"no token":      {"id": {fmt.Sprint(e.ID)}},
		"wrong token":   {"id": {fmt.Sprint(e.ID)}, "csrf": {strings.Repeat("0", 64)}},
		"another token": {"id": {fmt.Sprint(e.ID)}, "csrf": {other}},
	} {
		if a := b.post("/ui/preview", form); a.status != http.StatusForbidden {
			t.Errorf("%s: %d", name, a.status)
		}
	}
	for _, path := range []string{"/ui/recall", "/ui/logout", "/ui/autorecall/resume", "/ui/entries/1/resolve", "/ui/broadcasts/b/cancel"} {
		if a := b.post(path, url.Values{}); a.status != http.StatusForbidden {
			t.Errorf("%s without a token: %d", path, a.status)
		}
	}
	// From another site, even with the token.
	req, _ := http.NewRequest(http.MethodPost, f.web.URL+"/ui/preview", strings.NewReader(url.Values{"csrf": {csrf}, "id": {fmt.Sprint(e.ID)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if a := b.do(req); a.status != http.StatusForbidden {
		t.Errorf("cross-site: %d", a.status)
	}
	recs, _ := f.led.Audit(context.Background(), ledger.AuditQuery{Limit: 5})
	if len(recs) != 0 {
		t.Errorf("a refused request reached the engine: %+v", recs)
	}
	// The token in a header works as in the form.
	req, _ = http.NewRequest(http.MethodPost, f.web.URL+"/ui/preview", strings.NewReader(url.Values{"id": {fmt.Sprint(e.ID)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", csrf)
	if a := b.do(req); a.status != 200 || !strings.Contains(a.body, "1 would be recalled") {
		t.Errorf("with the token in a header: %d %s", a.status, a.body)
	}
}

// TestListFilters: chat, user, batch, client, state, time and text narrow
// the list; every chat's messages are listed newest first without one.
func TestListFilters(t *testing.T) {
	f := newFixture(t, "en")
	p1 := f.send(privChat, "db-7 disk at 91%", recall.SendOptions{Actor: "api:monitor"})
	g1 := f.send(groupChat, "release at 20:00", recall.SendOptions{Actor: "api:ci", BatchID: "rel-1"})
	u1 := f.send(ledger.Chat{Family: ledger.OTO, UserID: "u1"}, "your leave is approved", recall.SendOptions{Actor: "api:hr"})
	f.clock.Advance(time.Hour)
	p2 := f.send(privChat, "db-7 disk at 97%", recall.SendOptions{Actor: "api:monitor"})
	g2 := f.send(groupChat, "release moved to 22:00", recall.SendOptions{Actor: "api:ci", BatchID: "rel-1"})
	// A broadcast packs u2 and u3 into one key.
	b := f.browser()
	b.login("alice")
	if _, err := f.op.Broadcast(context.Background(), &api.BroadcastRequest{UserIDs: []string{"u2", "u3"}, Content: api.Content{Text: "all hands"}, BatchID: "all-1"}); err != nil {
		t.Fatalf("broadcast: %v", err)
	}
	waitFor(t, "the broadcast", func() bool {
		es, _ := f.led.Batch(context.Background(), "all-1")
		return len(es) == 1 && es[0].State == ledger.Sent
	})
	packed, _ := f.led.Batch(context.Background(), "all-1")
	for q, want := range map[string][]string{
		"":                       ids(packed[0], g2, p2, u1, g1, p1),
		"chat=" + privCID:        ids(p2, p1),
		"chat=group:" + groupCID: ids(g2, g1),
		"user=u1":                ids(u1),
		"user=u3":                ids(packed[0]),
		"batch=rel-1":            ids(g2, g1),
		"batch=all-1&user=u2":    ids(packed[0]),
		"client=monitor":         ids(p2, p1),
		"client=api:ci":          ids(g2, g1),
		"state=sent&text=DB-7":   ids(p2, p1),
		"since=30m":              ids(packed[0], g2, p2),
		"until=" + url.QueryEscape(p1.SentAt.Add(time.Minute).Local().Format("2006-01-02 15:04:05")): ids(u1, g1, p1),
		"chat=" + privCID + "&text=97": ids(p2),
		"state=recalled":               nil,
		"chat=cidNobody":               nil,
	} {
		a := b.get("/ui/?" + q)
		if got := rows(a.body); a.status != 200 || !slices.Equal(got, want) {
			t.Errorf("?%s: %d rows %v, want %v", q, a.status, got, want)
		}
	}
	page := b.get("/ui/?user=u3").body
	if !strings.Contains(page, "2 people") || !strings.Contains(page, "all-1") {
		t.Error("a packed key does not say how many it reached")
	}
	if a := b.get("/ui/?since=yesterday"); a.status != 200 || !strings.Contains(a.body, "neither a duration") {
		t.Errorf("bad time: %d", a.status)
	}
	// Paging: 60 more messages make two pages of 50.
	for i := range 60 {
		f.send(privChat, fmt.Sprint("bulk ", i), recall.SendOptions{})
	}
	first := b.get("/ui/?chat=" + privCID).body
	older := regexp.MustCompile(`href="(/ui/\?[^"]+)" id="older"`).FindStringSubmatch(first)
	if len(rows(first)) != 50 || older == nil {
		t.Fatalf("first page: %d rows, older link %v", len(rows(first)), older)
	}
	second := b.get(strings.ReplaceAll(older[1], "&amp;", "&")).body
	if got := rows(second); len(got) != 12 || got[10] != fmt.Sprint(p2.ID) {
		t.Errorf("second page: %v", got)
	}
}

// TestEscaping: what the bot sent is text on the page, never markup.
func TestEscaping(t *testing.T) {
	f := newFixture(t, "en")
	f.send(privChat, `<script>alert(1)</script><img src=x onerror=alert(2)>`, recall.SendOptions{Actor: `api:"><b>`})
	b := f.browser()
	b.login("alice")
	page := b.get("/ui/").body
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") || strings.Contains(page, `"><b>`) {
		t.Errorf("unescaped:\n%s", page)
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the text is not shown escaped")
	}
}

// TestChineseLabels: the console speaks the bot's locale, Chinese by
// default.
func TestChineseLabels(t *testing.T) {
	f := newFixture(t, "zh")
	b := f.browser()
	if a := b.get("/ui/login"); !strings.Contains(a.body, "令牌") || !strings.Contains(a.body, `lang="zh-CN"`) {
		t.Errorf("login form: %s", a.body)
	}
	b.login("王经理")
	if a := b.get("/ui/"); !strings.Contains(a.body, "机器人发送的消息") || !strings.Contains(a.body, `id="operator" title="登录时输入的名字：您在审计记录中的名字">王经理<`) {
		t.Errorf("messages page in zh: %d", a.status)
	}
}

// events reads a server-sent event stream until "end" (or failure) and
// returns the events' names and data.
func events(t *testing.T, b *browser, path string) [][2]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.f.web.URL+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %v", resp.StatusCode, resp.Header)
	}
	var out [][2]string
	sc := bufio.NewScanner(resp.Body)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			out = append(out, [2]string{name, strings.TrimPrefix(line, "data: ")})
			if name == "end" || name == "failure" {
				return out
			}
		}
	}
	return out
}

// TestPreviewAndRecallThroughTheConsole: select messages, preview (the
// API's dry run, audited as the operator), recall (the API's asynchronous
// recall of exactly the previewed keys), follow it over server-sent
// events, read the receipt; DingTalk shows the messages recalled, and the
// audit names api:alice.
func TestPreviewAndRecallThroughTheConsole(t *testing.T) {
	f := newFixture(t, "en")
	es := []ledger.Entry{f.send(privChat, "wrong on-call: Zhang", recall.SendOptions{}), f.send(privChat, "test alert, ignore", recall.SendOptions{})}
	keep := f.send(privChat, "the right one", recall.SendOptions{})
	b := f.browser()
	csrf := b.login("alice")
	a := b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(es...), "here": {privChat.Key()}})
	if a.status != 200 || !strings.Contains(a.body, "2 would be recalled") || !strings.Contains(a.body, "wrong on-call") ||
		strings.Contains(a.body, `name="confirm"`) {
		t.Fatalf("preview: %d %s", a.status, a.body)
	}
	if m, _ := f.srv.Message(es[0].ProcessQueryKey); m.Recalled {
		t.Fatal("the preview recalled")
	}
	plan := field(a.body, "plan")
	a = b.post("/ui/recall", url.Values{"csrf": {csrf}, "plan": {plan}})
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/recalls/r-") {
		t.Fatalf("recall: %d %q %s", a.status, loc, a.body)
	}
	ev := events(t, b, loc+"/events")
	if len(ev) < 2 || ev[len(ev)-1][0] != "end" || !strings.Contains(ev[len(ev)-2][1], `"done":2`) {
		t.Errorf("events: %v", ev)
	}
	page := b.get(loc).body
	if !strings.Contains(page, "2 recalled") || !strings.Contains(page, "test alert, ignore") {
		t.Errorf("receipt page: %s", page)
	}
	for _, e := range es {
		if m, _ := f.srv.Message(e.ProcessQueryKey); !m.Recalled {
			t.Errorf("%q not recalled in DingTalk", e.Excerpt)
		}
	}
	if m, _ := f.srv.Message(keep.ProcessQueryKey); m.Recalled {
		t.Error("an unselected message was recalled")
	}
	recs, _ := f.led.Audit(context.Background(), ledger.AuditQuery{Limit: 5})
	if len(recs) != 2 || recs[0].Action != "recall" || recs[0].Actor != "api:alice" || recs[1].Action != "dry_run" || recs[1].Actor != "api:alice" {
		t.Errorf("audit: %+v", recs)
	}
	// A preview is carried out once.
	if a := b.post("/ui/recall", url.Values{"csrf": {csrf}, "plan": {plan}}); a.status != http.StatusGone {
		t.Errorf("second use of a preview: %d", a.status)
	}
	// Another operator cannot carry out alice's preview.
	a = b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(keep)})
	bob := f.browser()
	bcsrf := bob.login("bob")
	if a := bob.post("/ui/recall", url.Values{"csrf": {bcsrf}, "plan": {field(a.body, "plan")}}); a.status != http.StatusGone {
		t.Errorf("another session's preview: %d", a.status)
	}
}

// TestConfirmationRule: what chat would need /confirm for needs the typed
// code here: more than confirm_above messages, messages beyond the chat
// looked at, a packed key (which also reaches other people, named).
func TestConfirmationRule(t *testing.T) {
	f := newFixture(t, "en")
	var many []ledger.Entry
	for i := range 11 {
		many = append(many, f.send(privChat, fmt.Sprint("notice ", i), recall.SendOptions{}))
	}
	g := f.send(groupChat, "group notice", recall.SendOptions{})
	b := f.browser()
	csrf := b.login("alice")

	// 11 messages: more than 10.
	a := b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(many...), "here": {privChat.Key()}})
	code := regexp.MustCompile(`<code id="code">([A-Z2-9]{6})</code>`).FindStringSubmatch(a.body)
	if code == nil || !strings.Contains(a.body, "11 messages, more than 10") {
		t.Fatalf("11 messages: no confirmation asked: %s", a.body)
	}
	plan := field(a.body, "plan")
	if a := b.post("/ui/recall", url.Values{"csrf": {csrf}, "plan": {plan}}); a.status != http.StatusConflict || !strings.Contains(a.body, "does not match") {
		t.Errorf("without the code: %d", a.status)
	}
	if a := b.post("/ui/recall", url.Values{"csrf": {csrf}, "plan": {plan}, "confirm": {"ZZZZZZ"}}); a.status != http.StatusConflict {
		t.Errorf("a wrong code: %d", a.status)
	}
	if n := f.srv.CountCalls("/v1.0/robot/privateChatMessages/batchRecall"); n != 0 {
		t.Fatalf("%d recall calls before the confirmation", n)
	}
	a = b.post("/ui/recall", url.Values{"csrf": {csrf}, "plan": {plan}, "confirm": {strings.ToLower(code[1])}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("with the code: %d %s", a.status, a.body)
	}
	events(t, b, a.header.Get("Location")+"/events")
	for _, e := range many {
		if m, _ := f.srv.Message(e.ProcessQueryKey); !m.Recalled {
			t.Errorf("%q not recalled", e.Excerpt)
		}
	}

	// One message of another chat than the one looked at.
	a = b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(g), "here": {privChat.Key()}})
	if !strings.Contains(a.body, `name="confirm"`) || !strings.Contains(a.body, "1 of them are not in private:"+privCID) {
		t.Errorf("another chat: %s", a.body)
	}
	// The same message looked at in its own chat needs none.
	if a := b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(g), "here": {groupChat.Key()}}); strings.Contains(a.body, `name="confirm"`) {
		t.Error("its own chat asked for a confirmation")
	}

	// A packed key: the preview names the other people it reaches.
	if _, err := f.op.Broadcast(context.Background(), &api.BroadcastRequest{UserIDs: []string{"u1", "u2", "u3"}, Content: api.Content{Text: "all hands"}, BatchID: "all-1"}); err != nil {
		t.Fatalf("broadcast: %v", err)
	}
	waitFor(t, "the broadcast", func() bool {
		es, _ := f.led.Batch(context.Background(), "all-1")
		return len(es) == 1 && es[0].State == ledger.Sent
	})
	a = b.post("/ui/preview", url.Values{"csrf": {csrf}, "batch": {"all-1"}, "here": {"oto:u1"}})
	if !strings.Contains(a.body, `name="confirm"`) || !strings.Contains(a.body, "takes them back from 2 other people too") || !strings.Contains(a.body, "u1, u2, u3") {
		t.Errorf("packed key: %s", a.body)
	}
}

// TestResolvePending: a send in doubt is settled from the console with the
// API's semantics, audited as the operator.
func TestResolvePending(t *testing.T) {
	f := newFixture(t, "en")
	e, err := f.led.Append(context.Background(), ledger.Entry{Chat: privChat, MsgKey: "sampleText", Excerpt: "maybe sent", Origin: ledger.OriginAPI})
	if err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	csrf := b.login("alice")
	page := b.get("/ui/entries").body
	if !slices.Equal(rows(page), ids(e)) || !strings.Contains(page, "maybe sent") {
		t.Fatalf("pending: %s", page)
	}
	if a := b.post(fmt.Sprintf("/ui/entries/%d/resolve", e.ID), url.Values{"csrf": {csrf}, "state": {"sent"}}); a.status != http.StatusConflict {
		t.Errorf("sent without a key: %d", a.status)
	}
	a := b.post(fmt.Sprintf("/ui/entries/%d/resolve", e.ID), url.Values{"csrf": {csrf}, "state": {"unknown"}, "note": {"not in the chat"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("resolve: %d %s", a.status, a.body)
	}
	if got, _ := f.led.Get(context.Background(), e.ID); got.State != ledger.Unknown {
		t.Errorf("entry: %+v", got)
	}
	if page := b.get(a.header.Get("Location")).body; len(rows(page)) != 0 || !strings.Contains(page, "Resolved.") {
		t.Errorf("after resolving: %s", page)
	}
	recs, _ := f.led.Audit(context.Background(), ledger.AuditQuery{Limit: 5})
	if len(recs) != 1 || recs[0].Actor != "api:alice" || !strings.Contains(recs[0].Note, "not in the chat") {
		t.Errorf("audit: %+v", recs)
	}
}

// TestBroadcastsAndTheirProgress: the broadcasts list, one broadcast's
// page and its progress over server-sent events.
func TestBroadcastsAndTheirProgress(t *testing.T) {
	f := newFixture(t, "en")
	b := f.browser()
	csrf := b.login("alice")
	users := make([]string, 45)
	for i := range users {
		users[i] = fmt.Sprintf("user%02d", i)
	}
	if _, err := f.op.Broadcast(context.Background(), &api.BroadcastRequest{UserIDs: users, Content: api.Content{Text: "maintenance at 22:00"}, BatchID: "m-1", Client: "ops"}); err != nil {
		t.Fatalf("broadcast: %v", err)
	}
	ev := events(t, b, "/ui/broadcasts/m-1/events")
	var last map[string]any
	_ = json.Unmarshal([]byte(ev[len(ev)-2][1]), &last)
	if ev[len(ev)-1][0] != "end" || last["sent"] != 45.0 || last["calls"] != 3.0 {
		t.Errorf("events: %v", ev)
	}
	list := b.get("/ui/broadcasts").body
	if !strings.Contains(list, `data-batch="m-1"`) || !strings.Contains(list, "maintenance at 22:00") || !strings.Contains(list, "ops (API)") {
		t.Errorf("list: %s", list)
	}
	page := b.get("/ui/broadcasts/m-1").body
	if !strings.Contains(page, "45 of 45 reached") || !strings.Contains(page, `value="m-1"`) || !strings.Contains(page, "3 of its 3 messages still shown") {
		t.Errorf("page: %s", page)
	}
	// Is it gone now? After its recall, the page says so.
	preview := b.post("/ui/preview", url.Values{"csrf": {csrf}, "batch": {"m-1"}}).body
	a := b.post("/ui/recall", url.Values{"csrf": {csrf}, "plan": {field(preview, "plan")}, "confirm": {code(preview)}})
	events(t, b, a.header.Get("Location")+"/events")
	if page := b.get("/ui/broadcasts/m-1").body; !strings.Contains(page, "none of its 3 messages is shown any more") {
		t.Errorf("after the recall: %s", page)
	}
	if a := b.get("/ui/broadcasts/nope"); a.status != 404 {
		t.Errorf("unknown broadcast: %d", a.status)
	}
}

// TestAuditTrails: the recall trail and the access trail.
func TestAuditTrails(t *testing.T) {
	f := newFixture(t, "en")
	f.browser().post("/ui/login", url.Values{"token": {"nope-nope-nope"}, "name": {"eve"}})
	e := f.send(privChat, "hello", recall.SendOptions{})
	b := f.browser()
	csrf := b.login("alice")
	b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(e)})
	page := b.get("/ui/audit").body
	if !strings.Contains(page, `data-action="dry_run"`) || !strings.Contains(page, "alice (API)") || strings.Contains(page, "console.login") {
		t.Errorf("recall trail: %s", page)
	}
	page = b.get("/ui/audit?trail=access").body
	if !strings.Contains(page, `data-action="http.unauthorized"`) || !strings.Contains(page, `data-action="console.login"`) || !strings.Contains(page, "POST /ui/login") {
		t.Errorf("access trail: %s", page)
	}
}

// TestReadStatus: the list's button asks GET /v1/messages/{key}?read_status=1
// for one message; a preview with read status puts each message's count on
// it (one query call each), and one without says what asking would cost.
func TestReadStatus(t *testing.T) {
	f := newFixture(t, "en")
	e := f.send(ledger.Chat{Family: ledger.OTO, UserID: "u1"}, "your leave is approved", recall.SendOptions{})
	g := f.send(groupChat, "release at 20:00", recall.SendOptions{})
	if err := f.srv.MarkRead(e.ProcessQueryKey, "u1"); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	csrf := b.login("alice")
	a := b.get("/ui/read?key="+url.QueryEscape(e.ProcessQueryKey), "Accept", "application/json")
	var rs recall.Reads
	if a.status != 200 || json.Unmarshal([]byte(a.body), &rs) != nil || rs.Read != 1 || rs.Recipients != 1 || !slices.Equal(rs.Readers, []string{"u1"}) {
		t.Errorf("read status: %d %s", a.status, a.body)
	}
	if a := b.get("/ui/read?key=nope", "Accept", "application/json"); a.status != 404 {
		t.Errorf("unknown key: %d %s", a.status, a.body)
	}
	page := b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(e, g)}).body
	if !strings.Contains(page, "Asking who has read them takes 2 query calls") {
		t.Errorf("preview without read status does not state the cost: %s", page)
	}
	page = b.post("/ui/preview", url.Values{"csrf": {csrf}, "id": ids(e, g), "read_status": {"1"}}).body
	if !strings.Contains(page, "1 of 1 had read it") || !strings.Contains(page, "0 had read it") || !strings.Contains(page, "2 query calls") {
		t.Errorf("preview with read status: %s", page)
	}
	// The recall asks again just before it, for the receipt.
	a = b.post("/ui/recall", url.Values{"csrf": {csrf}, "plan": {field(page, "plan")}, "confirm": {code(page)}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("recall: %d %s", a.status, a.body)
	}
	events(t, b, a.header.Get("Location")+"/events")
	if page := b.get(a.header.Get("Location")).body; !strings.Contains(page, "1 read before the recall") || !strings.Contains(page, "1 of 1 had read it") {
		t.Errorf("receipt: %s", page)
	}
}

// code is the confirmation code a preview shows, or "".
func code(page string) string {
	m := regexp.MustCompile(`<code id="code">([A-Z2-9]{6})</code>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}
