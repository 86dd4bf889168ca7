package alertmanager

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestClientSpeaksAPIv2: the silence goes out as API v2's postableSilence
// (equality matchers with isEqual set, createdBy, comment), its ID comes
// back; Alertmanager's string error payloads become *Error with its words;
// no answer at all is Unreachable.
func TestClientSpeaksAPIv2(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v2/silences":
			_ = json.NewDecoder(r.Body).Decode(&got)
			_, _ = w.Write([]byte(`{"silenceID":"9f3c"}`))
		case r.Method == http.MethodDelete && r.URL.Path == "/api/v2/silence/9f3c":
		case r.Method == http.MethodDelete:
			w.WriteHeader(500)
			_, _ = w.Write([]byte(`"silence not found"`))
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL}
	ctx := context.Background()
	now := time.Now()
	id, err := c.Create(ctx, Silence{Matchers: []Matcher{{Name: "alertname", Value: "DiskFull", IsEqual: true}}, StartsAt: now, EndsAt: now.Add(time.Hour),
		CreatedBy: "Li (u1) via recallbot", Comment: "disk swap"})
	if err != nil || id != "9f3c" {
		t.Fatalf("Create = %q, %v", id, err)
	}
	m := got["matchers"].([]any)[0].(map[string]any)
	if m["isEqual"] != true || m["isRegex"] != false || got["createdBy"] != "Li (u1) via recallbot" || got["comment"] != "disk swap" || got["id"] != nil {
		t.Errorf("posted %v", got)
	}
	if err := c.Expire(ctx, "9f3c"); err != nil {
		t.Errorf("Expire: %v", err)
	}
	var ae *Error
	if err := c.Expire(ctx, "nope"); !errors.As(err, &ae) || ae.Status != 500 || ae.Message != "silence not found" || Unreachable(err) {
		t.Errorf("Expire of an unknown silence: %v", err)
	}
	srv.Close()
	if _, err := c.Create(ctx, Silence{}); !Unreachable(err) {
		t.Errorf("a closed Alertmanager: %v", err)
	}
}
