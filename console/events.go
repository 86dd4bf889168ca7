package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Progress reaches the page as server-sent events. The stream reads the
// API every streamEvery (the API writes an asynchronous recall's progress
// every 500 ms) and sends an event when something changed.
const (
	streamEvery = 300 * time.Millisecond
	// streamFor bounds one stream; the browser's EventSource opens the
	// next by itself, so no connection lives on unnoticed.
	streamFor = 2 * time.Minute
)

// stream answers with server-sent events: "progress" with poll's value
// whenever it changes, then "end" when poll says it ended, or "failure"
// with a message. It stops when the client goes, after streamFor, and when
// the server shuts down (Shutdown).
func (c *Console) stream(w http.ResponseWriter, r *http.Request, poll func() (v any, ended bool, problem string)) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if _, err := fmt.Fprint(w, "retry: 1000\n\n"); err != nil {
		return
	}
	tick := time.NewTicker(streamEvery)
	defer tick.Stop()
	limit := time.NewTimer(streamFor)
	defer limit.Stop()
	var last []byte
	for {
		v, ended, problem := poll()
		switch {
		case problem != "":
			send("failure", map[string]string{"message": problem})
			return
		case v != nil:
			b, _ := json.Marshal(v)
			if !bytes.Equal(b, last) {
				if !send("progress", v) {
					return
				}
				last = b
			}
		}
		if ended {
			send("end", map[string]bool{"ended": true})
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-c.stop:
			return
		case <-limit.C:
			return
		case <-tick.C:
		}
	}
}
