package main

import (
	"bytes"
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
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sim: %v", err)
	}
	if !strings.Contains(out.String(), "DingTalk emulator listening on http://"+addr) {
		t.Errorf("sim printed:\n%s", out.String())
	}
}

func TestSubcommandsAndHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "recallbot ") {
		t.Errorf("version: %q %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "Usage:") {
		t.Errorf("unknown command: %v", err)
	}
	for _, cmd := range []string{"run", "demo", "sim"} {
		errOut.Reset()
		if err := run(context.Background(), []string{cmd, "-h"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "Usage: recallbot "+cmd) {
			t.Errorf("%s -h: %v %q", cmd, err, errOut.String())
		}
	}
	// A bare "recallbot -config FILE" is "run": a missing file is its error.
	if err := run(context.Background(), []string{"-config", "/nonexistent.yaml"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "/nonexistent.yaml") {
		t.Errorf("bare -config: %v", err)
	}
}
