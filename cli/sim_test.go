package cli

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestSimServesTheControlAPI(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sim", "-listen", addr, "-client-id", "dingsimapp"}, &out, io.Discard)
	}()
	if err := waitFor(ctx, func() bool { return strings.Contains(out.String(), "client_id: dingsimapp") }); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/sim/v1/conversations", "application/json", strings.NewReader(`{"conversationId":"cidX","kind":"group"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("control API: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, _ = http.Post("http://"+addr+"/sim/v1/conversations", "application/json", strings.NewReader(`{"conversationId":"cidX","kind":"fax"}`))
	if resp.StatusCode != 400 {
		t.Errorf("bad kind: %d", resp.StatusCode)
	}
	resp.Body.Close()
	if resp, err = http.Get("http://" + addr + "/ui/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("console: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sim: %v", err)
	}
	if !strings.Contains(out.String(), "DingTalk emulator listening on http://"+addr) ||
		!strings.Contains(out.String(), "console (chats, OpenAPI calls, Stream frames, faults): http://"+addr+"/ui/\n") {
		t.Errorf("sim printed:\n%s", out.String())
	}
}
