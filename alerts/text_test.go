package alerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/ledger"
)

// drawn is a state drawn as the bot draws it: English, secrets redacted
// by the bot's redactor; it returns the markdown and the card's data,
// each also percent-decoded (a secret in a link may be escaped).
func drawn(t *testing.T, st State) (md, card string) {
	t.Helper()
	d := drawing{Locale: "en", MaxAlerts: 10, CanSilence: true, Now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), Redact: autorecall.NewRedactor(nil).Redact}
	m := draw(st, ledger.AlertGroup{ID: "a1b2c3d4e5f6"}, d)
	return m.Markdown, string(m.Card)
}

func unescaped(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return s + "\n" + u
	}
	return s
}

// TestAlertTextHidesAWholeKey: a private key in a summary reaches the
// chat as [redacted], its body too, though the summary is cut to length
// before its END line.
func TestAlertTextHidesAWholeKey(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalECPrivateKey(k)
	key := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	st := stateWith(1, 0)
	st.Alerts[0].Annotations["summary"] = "leaked: " + key
	md, card := drawn(t, st)
	for _, l := range strings.Split(key, "\n")[1:3] {
		if strings.Contains(md, l[:20]) || strings.Contains(card, l[:20]) {
			t.Errorf("the key's body reached the message:\n%s", md)
		}
	}
	if !strings.Contains(md, "leaked: ［redacted］") {
		t.Errorf("no redaction where the key was:\n%s", md)
	}
}

// TestAlertLinksCarryNoSecrets: a link from a notification loses its
// user and password and the values of secret-looking query parameters;
// the silence link leaves out labels whose values are secrets; nothing
// of them reaches the chat, escaped or not.
func TestAlertLinksCarryNoSecrets(t *testing.T) {
	st := stateWith(1, 0)
	st.Alerts[0].GeneratorURL = "http://user:pass@internal.corp/secret?token=abcdef0123456789&g0.expr=up&api_key=Zm9vYmFyYmF6"
	st.GroupLabels = map[string]string{"alertname": "DiskFull", "dsn": "postgres://app:S3cretPassw0rd@db/x", "key": "AKIAIOSFODNN7EXAMPLE"}
	for i := range st.Alerts {
		for k, v := range st.GroupLabels {
			st.Alerts[i].Labels[k] = v
		}
	}
	md, card := drawn(t, st)
	for _, secret := range []string{"user:pass", "abcdef0123456789", "Zm9vYmFyYmF6", "S3cretPassw0rd", "AKIAIOSFODNN7EXAMPLE"} {
		if strings.Contains(unescaped(md), secret) || strings.Contains(unescaped(card), secret) {
			t.Errorf("%q reached the message:\n%s\n%s", secret, md, card)
		}
	}
	if !strings.Contains(md, "(http://internal.corp/secret?") || !strings.Contains(md, "g0.expr=up") || !strings.Contains(md, "/#/silences/new?filter=") {
		t.Errorf("the links are gone, not cleaned:\n%s", md)
	}
}

// TestAlertTextDropsInvisibleCharacters: direction overrides and
// zero-width characters from a notification never reach the chat, and a
// zero-width space inside a secret does not hide it from the redactor.
func TestAlertTextDropsInvisibleCharacters(t *testing.T) {
	st := stateWith(1, 0)
	st.GroupLabels["alertname"] = "Disk\u202eFull"
	st.Alerts[0].Labels["alertname"] = "Disk\u202eFull"
	st.Alerts[0].Annotations["summary"] = "p\u200bassword=hunter2zero on \u2066db1\u2069"
	st.Route = "db\u200d"
	st.Alerts[0].GeneratorURL = "http://prometheus:9090/\u202egraph"
	md, card := drawn(t, st)
	for _, bad := range []string{"\u202e", "\u200b", "\u200d", "\u2066", "hunter2zero"} {
		if strings.Contains(md, bad) || strings.Contains(card, bad) || strings.Contains(unescaped(md), bad) {
			t.Errorf("%+q reached the message:\n%+q", bad, md)
		}
	}
}

// TestAlertLinesTellAlertsApart: alerts whose labels differ only in their
// alertname are listed by it; the hint for one alert's silence shows only
// when the group has several.
func TestAlertLinesTellAlertsApart(t *testing.T) {
	st := stateWith(2, 0)
	st.GroupLabels = map[string]string{"instance": "db0"}
	st.Alerts[1].Labels = map[string]string{"alertname": "DiskSlow", "instance": "db0", "severity": "warning"}
	for i := range st.Alerts {
		st.Alerts[i].Annotations = nil
	}
	md, _ := drawn(t, st)
	if !strings.Contains(md, "1. 🔥 DiskFull") || !strings.Contains(md, "2. 🔥 DiskSlow") {
		t.Errorf("two alerts differing in their alertname:\n%s", md)
	}
	st.Alerts[1].Annotations = map[string]string{"summary": "disk trouble"}
	st.Alerts[0].Annotations = map[string]string{"summary": "disk trouble"}
	if md, _ = drawn(t, st); !strings.Contains(md, "DiskFull: disk trouble") || !strings.Contains(md, "DiskSlow: disk trouble") {
		t.Errorf("two alerts of one summary and two names:\n%s", md)
	}
	if !strings.Contains(md, "(one alert: `a1b2c3-2`)") {
		t.Errorf("a group of two has no hint for one alert:\n%s", md)
	}
	if md, _ = drawn(t, stateWith(1, 0)); strings.Contains(md, "one alert") || strings.Contains(md, "-2`") {
		t.Errorf("a group of one alert hints at a second:\n%s", md)
	}
}

// TestAlertTextKeepsCode: text in backticks in a summary reaches the chat
// (inert), not dropped.
func TestAlertTextKeepsCode(t *testing.T) {
	st := stateWith(1, 0)
	st.Alerts[0].Annotations["summary"] = "run `df -h /var` on db0"
	if md, card := drawn(t, st); !strings.Contains(md, "df -h /var") || !strings.Contains(card, "df -h /var") {
		t.Errorf("the code in the summary is gone:\n%s", md)
	}
}
