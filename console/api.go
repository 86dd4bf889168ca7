package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// apiAnswer is one answer of the HTTP API.
type apiAnswer struct {
	status int
	header http.Header
	body   []byte
}

// ok reports a 2xx answer.
func (a apiAnswer) ok() bool { return a.status >= 200 && a.status < 300 }

// decode reads the answer's JSON into v.
func (a apiAnswer) decode(v any) error { return json.Unmarshal(a.body, v) }

// message is the API's error sentence ({"error": {"code", "message"}}), or
// the status when the body has none.
func (a apiAnswer) message() string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(a.body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	return fmt.Sprintf("HTTP %d %s", a.status, http.StatusText(a.status))
}

// call makes one request to the HTTP API in process, for the operator of
// r: with the API's token, from r's address (for the API's access log),
// under r's context. body, when not nil, is sent as JSON.
func (c *Console) call(ctx context.Context, r *http.Request, method, path string, body any) apiAnswer {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiAnswer{status: http.StatusInternalServerError, body: []byte(`{}`)}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return apiAnswer{status: http.StatusBadRequest, body: []byte(`{}`)}
	}
	req.RequestURI = path
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := &memWriter{header: http.Header{}, status: http.StatusOK}
	c.cfg.API.ServeHTTP(w, req)
	return apiAnswer{status: w.status, header: w.header, body: w.buf.Bytes()}
}

// memWriter keeps an in-process answer.
type memWriter struct {
	header http.Header
	status int
	wrote  bool
	buf    bytes.Buffer
}

func (m *memWriter) Header() http.Header { return m.header }

func (m *memWriter) WriteHeader(status int) {
	if !m.wrote {
		m.status, m.wrote = status, true
	}
}

func (m *memWriter) Write(b []byte) (int, error) {
	m.wrote = true
	return m.buf.Write(b)
}

// jsonError answers a script with {"error": {"message"}}.
func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
