package httpapi

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// TestLedgerDownRefusesSends: the bot never sends what it cannot record.
func TestLedgerDownRefusesSends(t *testing.T) {
	led, err := ledger.Open(filepath.Join(t.TempDir(), "l.db"), ledger.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	log := zap.NewNop()
	api := &API{Token: "tok-0123456789abcdef", Ledger: led, Log: log, Sender: recall.NewSender(led, refusingAPI{}, log, recall.SenderConfig{}),
		Engine: recall.New(led, refusingAPI{}, log, recall.Config{}), Ready: func() bool { return true }}
	h := api.Handler()
	_ = led.Close() // the ledger goes away
	req := httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(`{"family":"group","conversation_id":"c","text":"x"}`))
	req.Header.Set("Authorization", "Bearer tok-0123456789abcdef")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "ledger_unavailable") {
		t.Errorf("send with the ledger down: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the ledger down: %d", w.Code)
	}
}
