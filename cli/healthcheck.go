package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/recallbot/recallbot/api"
)

// Healthcheck is `recallbot healthcheck`: it asks a running bot whether it is ready (GET /readyz):
// "ready" and exit 0, or why not and exit 1. It is the container's
// HEALTHCHECK, since the distroless image has no curl, and a script's way
// to wait for the bot. It gets a URL, not the API's address (a probe may
// go through a proxy's path), so it makes the one GET itself and reads the
// answer as api.Readiness.
func Healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", "healthcheck [-url http://127.0.0.1:8470/readyz] [-timeout 5s]", stderr)
	def := "http://127.0.0.1:8470/readyz"
	if api := os.Getenv("RECALLBOT_API"); api != "" {
		def = strings.TrimSuffix(api, "/") + "/readyz"
	}
	u := fs.String("url", def, "the bot's readiness URL ($RECALLBOT_API/readyz when that is set)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := parseFlags(fs, args, envLang(os.Getenv)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return UsageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *u, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: no answer from %s: %w", *u, unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusOK {
		fmt.Fprintln(stdout, "ready")
		return nil
	}
	return fmt.Errorf("not ready: %s", notReadyBecause(resp.StatusCode, b))
}

// notReadyBecause says in words what /readyz's 503 answer holds. A body
// that is not the bot's readiness (a proxy's page) is shown as it came.
func notReadyBecause(status int, body []byte) string {
	var r api.Readiness
	if json.Unmarshal(body, &r) != nil || !bytes.Contains(body, []byte(`"stream_connected"`)) {
		return fmt.Sprintf("HTTP %d: %s", status, strings.TrimSpace(string(body)))
	}
	var why []string
	if !r.StreamConnected {
		why = append(why, "not connected to DingTalk (Stream)")
	}
	if !r.LedgerOK {
		why = append(why, "the ledger does not answer")
	}
	if !r.LedgerWritesOK {
		why = append(why, "the ledger refuses writes")
	}
	if len(why) == 0 {
		return fmt.Sprintf("HTTP %d", status)
	}
	return strings.Join(why, "; ")
}
