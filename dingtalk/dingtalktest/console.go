package dingtalktest

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
	"time"
)

// The console is a web page on the emulator's own listener, at /ui/: the
// chats as their members see them, a composer to speak as any user, the
// OpenAPI call log, the Stream frames and buttons for the faults. It is
// server-rendered (html/template escapes everything a user typed) and kept
// live by server-sent events: on every state change the event stream
// re-renders the page's parts and sends those that changed. Its buttons
// call the control API. It costs nothing while no console is open.

//go:embed ui
var consoleFiles embed.FS

// consoleTemplates are parsed when a console is first opened, not when a
// program that links the emulator starts.
var consoleTemplates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("console").Funcs(template.FuncMap{
		"clock":   func(t time.Time) string { return t.Format("01-02 15:04:05") },
		"stamp":   func(t time.Time) string { return t.Format("15:04:05.000") },
		"shortID": func(id string) string { return shorten(id, 12) },
	}).ParseFS(consoleFiles, "ui/console.html"))
})

// consoleParts are the regions of the page the event stream replaces, each
// a template whose root element has the part's name as its id.
var consoleParts = []string{"chats", "chat", "users", "state", "stream", "calls"}

const (
	// consoleThrottle is the least time between two updates of one open
	// console: a burst of changes becomes one update, the first of them
	// shown at once.
	consoleThrottle = 100 * time.Millisecond
	consoleMessages = 200 // the last messages of the chat shown
	consoleChats    = 200 // the most recently active chats listed
	consoleCalls    = 150 // the last OpenAPI calls listed
	consoleFrames   = 100 // the last frame events listed
)

func (s *Server) consoleRoutes(mux *http.ServeMux) {
	assets, err := fs.Sub(consoleFiles, "ui/assets")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/ui/assets/", http.FileServerFS(assets))
	mux.HandleFunc("GET /ui/{$}", s.consolePage)
	// A person who opens the emulator's address in a browser wants the
	// console: no OpenAPI route is GET /.
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusFound)
	})
	mux.HandleFunc("GET /ui/events", s.consoleEvents)
	mux.HandleFunc("GET /ui/assets/{name}", func(w http.ResponseWriter, r *http.Request) {
		consoleHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
	// Anything else under /ui/ is the console's 404, not an OpenAPI call
	// to record (GET /ui redirects here).
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		consoleHeaders(w)
		http.NotFound(w, r)
	})
}

// consoleHeaders keep the page to itself: no inline script, nothing loaded
// from elsewhere, never framed by another site.
func consoleHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func (s *Server) consolePage(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	if err := consoleTemplates().ExecuteTemplate(&b, "page", s.consoleView(r.URL.Query().Get("chat"), r.URL.Query().Get("q"))); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	consoleHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

// consolePart is one event of the console's stream: a part of the page,
// rendered by html/template.
type consolePart struct {
	ID   string `json:"id"`
	HTML string `json:"html"`
}

// consoleEvents is the console's event stream (text/event-stream): at once
// every part of the page for ?chat=, then, after each change of the
// emulator's state, the parts whose rendering changed, as "part" events.
// It wakes on the emulator's change notifications, at most every
// consoleThrottle.
func (s *Server) consoleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	consoleHeaders(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, "retry: 1000\n\n")
	chat, q := r.URL.Query().Get("chat"), r.URL.Query().Get("q")
	sent := map[string]string{}
	ctx := r.Context()
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		v := s.consoleView(chat, q)
		for _, part := range consoleParts {
			var b bytes.Buffer
			if err := consoleTemplates().ExecuteTemplate(&b, part, v); err != nil {
				s.logf("emulator: console: %v", err)
				return
			}
			if sent[part] == b.String() {
				continue
			}
			sent[part] = b.String()
			data, _ := json.Marshal(consolePart{ID: part, HTML: b.String()})
			if _, err := fmt.Fprintf(w, "event: part\ndata: %s\n\n", data); err != nil {
				return
			}
		}
		fl.Flush()
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-s.closed:
			return
		}
		t := time.NewTimer(consoleThrottle)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.closed:
			t.Stop()
			return
		}
	}
}
