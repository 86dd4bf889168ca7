package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/internal/onelanguage"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// loginFrom posts the login form to the bot's handler as if from addr,
// the way the console sees a client: by its connection's address (it
// trusts no forwarding header). It returns the status.
func (f *fixture) loginFrom(addr, token string) *httptest.ResponseRecorder {
	form := url.Values{"token": {token}, "name": {"mallory"}}
	req := httptest.NewRequest(http.MethodPost, "/ui/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = addr + ":40000"
	w := httptest.NewRecorder()
	f.api.Handler().ServeHTTP(w, req)
	return w
}

// address is the i-th of many loopback addresses.
func address(i int) string { return fmt.Sprintf("127.0.%d.%d", i/250, i%250+1) }

// TestLoginLimitEvictsTheOldestAddress: an address that spent its tries
// stays limited however many other addresses fail meanwhile; past the
// addresses it tracks, the limiter forgets the one least recently seen,
// never all of them at once.
func TestLoginLimitEvictsTheOldestAddress(t *testing.T) {
	f := newFixture(t, "en", func(c *Config) { c.FailedLoginsPerMinute = 1 << 20 }) // the per-address limit alone
	f.clock.Stop(time.Now().Truncate(time.Minute))                                  // limits never refill under a slow machine
	const x = "10.9.9.9"
	for range loginBurst {
		f.loginFrom(x, "guess")
	}
	for i := range loginSources - 24 {
		f.loginFrom(address(i), "guess")
	}
	if w := f.loginFrom(x, testToken); w.Code != http.StatusTooManyRequests {
		t.Fatalf("the limited address, right token: %d", w.Code)
	}
	for i := range 100 { // past the addresses tracked
		f.loginFrom(address(loginSources+i), "guess")
	}
	if w := f.loginFrom(x, testToken); w.Code != http.StatusTooManyRequests {
		t.Errorf("after %d other addresses failed, the limited address got its tries back: %d", loginSources+76, w.Code)
	}
}

// TestSpreadLoginAttackIsBounded: 2,000 addresses trying 5 times each
// (10,000 guesses, each address within its own limit) get the overall
// budget of failed logins compared, no more: every other try is 429
// before its token is compared, the right token too, and the access
// trail holds one record of the limit at once and one count of the rest
// when the minute is over.
func TestSpreadLoginAttackIsBounded(t *testing.T) {
	f := newFixture(t, "en")
	f.clock.Stop(time.Now().Truncate(time.Minute)) // limits never refill under a slow machine
	const addresses, tries = 2000, loginBurst
	codes := map[int]int{}
	for i := range addresses {
		for range tries {
			codes[f.loginFrom(address(i), "guess-0123456789").Code]++
		}
	}
	if codes[http.StatusUnauthorized] != defaultFailedLoginsPerMinute || codes[http.StatusTooManyRequests] != addresses*tries-defaultFailedLoginsPerMinute {
		t.Errorf("answers %v; want %d compared (401) and the other %d refused (429)", codes, defaultFailedLoginsPerMinute, addresses*tries-defaultFailedLoginsPerMinute)
	}
	w := f.loginFrom("10.1.1.1", testToken)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || w.Header().Get("Set-Cookie") != "" {
		t.Errorf("the right token during the attack: %d %v", w.Code, w.Header())
	}
	limited := func() (at, summaries []ledger.AuditRecord) {
		recs, _ := f.led.Audit(context.Background(), ledger.AuditQuery{Trail: ledger.TrailAccess, Limit: 100})
		for _, r := range recs {
			switch {
			case r.Action == "console.login_limited" && r.Scope == "POST /ui/login":
				at = append(at, r)
			case r.Action == "console.login_limited":
				summaries = append(summaries, r)
			}
		}
		return at, summaries
	}
	at, summaries := limited()
	if len(at) != 1 || len(summaries) != 0 || at[0].Why != "logins_limited_overall" {
		t.Fatalf("the limit's records during the minute: %+v, %+v", at, summaries)
	}
	// The record keeps the reason as a code and the first address as a
	// fact: each reader reads it in their language only.
	if _, en := recall.AuditWords(at[0], "en", nil); !strings.Contains(en, "too many failed logins in a minute from all addresses together") {
		t.Errorf("the limit's record in English: %s", en)
	}
	if _, zh := recall.AuditWords(at[0], "zh", nil); !strings.Contains(zh, "所有地址合计登录失败过多") || onelanguage.EnglishRun(zh) != "" {
		t.Errorf("the limit's record in Chinese: %s", zh)
	}
	f.clock.Advance(time.Minute)
	f.con.FlushRefused(context.Background())
	at, summaries = limited()
	refused := addresses*tries - defaultFailedLoginsPerMinute + 1 // and the right token's try
	want := fmt.Sprintf("%d more in the minute from", refused-1)
	if len(at) != 1 || len(summaries) != 1 {
		t.Errorf("after the minute: %+v, %+v; want one summary %q", at, summaries, want)
	} else if scope, _ := recall.AuditWords(summaries[0], "en", nil); !strings.HasPrefix(scope, want) {
		t.Errorf("the summary reads %q; want %q", scope, want)
	}
	// The budget refills: an operator gets in again.
	if w := f.loginFrom("10.1.1.1", testToken); w.Code != http.StatusSeeOther {
		t.Errorf("after the minute, the right token: %d", w.Code)
	}
}
