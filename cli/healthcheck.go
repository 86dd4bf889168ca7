package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Healthcheck is `recallbot healthcheck`: it asks a running bot whether it is ready (GET /readyz):
// "ready" and exit 0, or why not and exit 1. It is the container's
// HEALTHCHECK, since the distroless image has no curl, and a script's way
// to wait for the bot.
func Healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", "healthcheck [-url http://127.0.0.1:8470/readyz] [-timeout 5s]", stderr)
	def := "http://127.0.0.1:8470/readyz"
	if api := os.Getenv("RECALLBOT_API"); api != "" {
		def = strings.TrimSuffix(api, "/") + "/readyz"
	}
	u := fs.String("url", def, "the bot's readiness URL ($RECALLBOT_API/readyz when that is set)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
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

// notReadyBecause says in words what /readyz's 503 answer holds.
func notReadyBecause(status int, body []byte) string {
	var r struct {
		Stream  *bool `json:"stream_connected"`
		Ledger  *bool `json:"ledger_ok"`
		Writing *bool `json:"ledger_writes_ok"`
	}
	if json.Unmarshal(body, &r) != nil || r.Stream == nil {
		return fmt.Sprintf("HTTP %d: %s", status, strings.TrimSpace(string(body)))
	}
	var why []string
	if !*r.Stream {
		why = append(why, "not connected to DingTalk (Stream)")
	}
	if r.Ledger != nil && !*r.Ledger {
		why = append(why, "the ledger does not answer")
	}
	if r.Writing != nil && !*r.Writing {
		why = append(why, "the ledger refuses writes")
	}
	if len(why) == 0 {
		return fmt.Sprintf("HTTP %d", status)
	}
	return strings.Join(why, "; ")
}
