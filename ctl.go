package main

// The operator's commands: a client of a running bot's local HTTP API
// (send, recall, audit, entries, resolve; broadcast in ctl_jobs.go). The token comes from
// RECALLBOT_HTTP_TOKEN, the address from -api or RECALLBOT_API.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ctl is one operator command talking to the bot's HTTP API.
type ctl struct {
	fs     *flag.FlagSet
	api    *string
	asJSON *bool
	out    io.Writer
	token  string
}

func newCtl(name, synopsis string, stdout, stderr io.Writer) *ctl {
	fs := newFlagSet(name, synopsis, stderr)
	def := os.Getenv("RECALLBOT_API")
	if def == "" {
		def = "http://127.0.0.1:8470"
	}
	return &ctl{fs: fs, out: stdout,
		api:    fs.String("api", def, "the bot's HTTP API (default $RECALLBOT_API or http://127.0.0.1:8470)"),
		asJSON: fs.Bool("json", false, "print the API's JSON answer instead of text")}
}

// parse reads the flags (also after positional arguments) and the token.
func (c *ctl) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			return nil, flagError(err)
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	c.token = os.Getenv("RECALLBOT_HTTP_TOKEN")
	if c.token == "" {
		return nil, errors.New("set RECALLBOT_HTTP_TOKEN to the bot's http.token")
	}
	return pos, nil
}

// apiError is an answer other than 2xx.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// call makes one request and decodes the answer into out (when not nil);
// with -json it prints the answer as it came.
func (c *ctl) call(ctx context.Context, method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(*c.api, "/")+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("the bot's HTTP API at %s: %w", *c.api, unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
			return resp.StatusCode, &apiError{Status: resp.StatusCode, Message: strings.TrimSpace(string(b))}
		}
		return resp.StatusCode, &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if *c.asJSON {
		var pretty bytes.Buffer
		if json.Indent(&pretty, b, "", "  ") == nil {
			b = pretty.Bytes()
		}
		_, err := fmt.Fprintln(c.out, strings.TrimSpace(string(b)))
		return resp.StatusCode, err
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// chatFlags are the ways a command names a chat.
type chatFlags struct{ group, private, user, chat *string }

func addChatFlags(fs *flag.FlagSet) chatFlags {
	return chatFlags{
		group:   fs.String("group", "", "a group's openConversationId"),
		private: fs.String("private", "", "a person-to-person chat's openConversationId"),
		user:    fs.String("user", "", "a user's staffId: their 1:1 chat with the bot"),
		chat:    fs.String("chat", "", "a conversation id of either kind, as the ledger knows it"),
	}
}

// body fills family, conversation_id and user_id; n is how many were set.
func (f chatFlags) body(m map[string]any) (n int) {
	for _, kv := range []struct {
		v      string
		family string
		field  string
	}{{*f.group, "group", "conversation_id"}, {*f.private, "private", "conversation_id"}, {*f.user, "oto", "user_id"}, {*f.chat, "", "conversation_id"}} {
		if kv.v == "" {
			continue
		}
		n++
		m[kv.field] = kv.v
		if kv.family != "" {
			m["family"] = kv.family
		}
	}
	return n
}

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCtl("send", "send (--group ID | --private ID | --user STAFF_ID) --text TEXT [--title T] [--expires-in 30s] [--batch ID] [--client NAME]", stdout, stderr)
	chat := addChatFlags(c.fs)
	text := c.fs.String("text", "", "the message; markdown when -title is given")
	title := c.fs.String("title", "", "a title: sends markdown")
	expires := c.fs.String("expires-in", "", "recall it by itself after this long (30s, 2h; under the 24 h window)")
	batch := c.fs.String("batch", "", "a batch id to group it with others")
	client := c.fs.String("client", "cli", "who is sending, for the ledger and the audit")
	if _, err := c.parse(args); err != nil {
		return err
	}
	body := map[string]any{"text": *text, "client": *client}
	if n := chat.body(body); n != 1 || *chat.chat != "" {
		return usageError(c.fs, "give exactly one of --group, --private or --user")
	}
	if *title != "" {
		body["title"] = *title
	}
	if *expires != "" {
		body["expires_in"] = *expires
	}
	if *batch != "" {
		body["batch_id"] = *batch
	}
	var e struct {
		ID            uint64 `json:"id"`
		Key           string `json:"process_query_key"`
		State         string `json:"state"`
		RecordDelayed bool   `json:"record_delayed"`
	}
	if _, err := c.call(ctx, http.MethodPost, "/v1/messages", body, &e); err != nil || *c.asJSON {
		return err
	}
	fmt.Fprintf(stdout, "sent: entry %d, key %s\n", e.ID, e.Key)
	if e.RecordDelayed {
		fmt.Fprintln(stdout, "note: the ledger was unavailable; the key waits in the bot's spool until it is back")
	}
	return nil
}

func runRecall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCtl("recall", "recall (--last N --chat ID | --since 30m --chat ID | --keys K1,K2 | --batch ID | --matching TEXT --chat ID) [--dry-run]", stdout, stderr)
	chat := addChatFlags(c.fs)
	last := c.fs.Int("last", 0, "the last N messages of the chat")
	since := c.fs.String("since", "", "what was sent in the chat since then: a duration (30m) or an RFC 3339 time")
	keys := c.fs.String("keys", "", "processQueryKeys, comma-separated (or as arguments)")
	batch := c.fs.String("batch", "", "every message of one broadcast")
	matching := c.fs.String("matching", "", "only messages whose text contains this (the first 80 characters, ignoring case)")
	dry := c.fs.Bool("dry-run", false, "show what would be recalled; recall nothing")
	reads := c.fs.Bool("read-status", false, "first ask DingTalk who has read each message (one query call per message)")
	client := c.fs.String("client", "cli", "who is recalling, for the audit")
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	body := map[string]any{"client": *client}
	chat.body(body)
	var ks []string
	for _, k := range append(strings.Split(*keys, ","), pos...) {
		if k = strings.TrimSpace(k); k != "" {
			ks = append(ks, k)
		}
	}
	if *last != 0 {
		body["last"] = *last
	}
	if *since != "" {
		body["since"] = *since
	}
	if len(ks) > 0 {
		body["keys"] = ks
	}
	if *batch != "" {
		body["batch_id"] = *batch
	}
	if *matching != "" {
		body["matching"] = *matching
	}
	if *dry {
		body["dry_run"] = true
	}
	if *reads {
		body["read_status"] = true
	}
	if *batch != "" && !*dry { // a broadcast may be thousands of messages: in the background, with progress
		return c.recallInBackground(ctx, body, stdout, stderr)
	}
	var r receiptAnswer
	if _, err := c.call(ctx, http.MethodPost, "/v1/recalls", body, &r); err != nil || *c.asJSON {
		return err
	}
	r.print(stdout)
	return nil
}

// receiptAnswer is POST /v1/recalls' answer.
type receiptAnswer struct {
	Summary string `json:"summary"`
	DryRun  bool   `json:"dry_run"`
	Calls   int    `json:"calls"`
	AuditID uint64 `json:"audit_id"`
	Items   []struct {
		Outcome     string    `json:"outcome"`
		Key         string    `json:"process_query_key"`
		Excerpt     string    `json:"excerpt"`
		SentAt      time.Time `json:"sent_at"`
		Explanation string    `json:"explanation"`
		Reads       *struct {
			Read       int    `json:"read"`
			Recipients int    `json:"recipients"`
			Err        string `json:"error"`
		} `json:"reads"`
	} `json:"items"`
	ReadCost *struct {
		Calls   int     `json:"calls"`
		Seconds float64 `json:"seconds"`
	} `json:"read_status_cost"`
}

func (r receiptAnswer) print(w io.Writer) {
	head := "recall"
	if r.DryRun {
		head = "preview (nothing recalled)"
	}
	fmt.Fprintf(w, "%s: %s; %d API call(s); audit #%d\n", head, r.Summary, r.Calls, r.AuditID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, it := range r.Items {
		what := it.Excerpt
		if what == "" {
			what = it.Key
		}
		when := ""
		if !it.SentAt.IsZero() {
			when = it.SentAt.Local().Format("01-02 15:04")
		}
		read := ""
		switch {
		case it.Reads != nil && it.Reads.Err != "":
			read = "read: unknown"
		case it.Reads != nil && it.Reads.Recipients > 0:
			read = fmt.Sprintf("read %d/%d", it.Reads.Read, it.Reads.Recipients)
		case it.Reads != nil:
			read = fmt.Sprintf("read by %d", it.Reads.Read)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", it.Outcome, when, what, read, it.Explanation)
	}
	_ = tw.Flush()
	if r.ReadCost != nil && r.ReadCost.Calls > 0 {
		fmt.Fprintf(w, "add --read-status to see who has read them first (%d query calls, about %.0f s)\n", r.ReadCost.Calls, max(1, r.ReadCost.Seconds))
	}
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCtl("audit", "audit [--limit N] [--access]", stdout, stderr)
	limit := c.fs.Int("limit", 20, "how many records, newest first")
	access := c.fs.Bool("access", false, "the access trail (refused HTTP requests) instead of recalls")
	if _, err := c.parse(args); err != nil {
		return err
	}
	path := "/v1/audit?limit=" + strconv.Itoa(*limit)
	if *access {
		path += "&trail=access"
	}
	var a struct {
		Records []struct {
			ID       uint64            `json:"id"`
			At       time.Time         `json:"at"`
			Actor    string            `json:"actor"`
			Action   string            `json:"action"`
			Scope    string            `json:"scope"`
			Allowed  bool              `json:"allowed"`
			Outcomes map[string]string `json:"outcomes"`
			Note     string            `json:"note"`
		} `json:"records"`
	}
	if _, err := c.call(ctx, http.MethodGet, path, nil, &a); err != nil || *c.asJSON {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWHEN\tWHO\tWHAT\tSCOPE\tRESULT")
	for _, r := range a.Records {
		result := r.Note
		if !r.Allowed {
			result = "refused " + result
		} else if len(r.Outcomes) > 0 {
			counts := map[string]int{}
			for _, o := range r.Outcomes {
				o, _, _ = strings.Cut(o, ":")
				counts[o]++
			}
			var parts []string
			for o, n := range counts {
				parts = append(parts, fmt.Sprintf("%d %s", n, o))
			}
			slices.Sort(parts)
			result = strings.Join(parts, ", ")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.At.Local().Format("01-02 15:04:05"), r.Actor, r.Action, r.Scope, result)
	}
	return tw.Flush()
}

func runEntries(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCtl("entries", "entries [pending|recalling|recall_failed]", stdout, stderr)
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	state := "pending"
	switch len(pos) {
	case 0:
	case 1:
		state = pos[0]
	default:
		return usageError(c.fs, "name one state: pending, recalling or recall_failed")
	}
	var a struct {
		Entries []struct {
			ID     uint64    `json:"id"`
			SentAt time.Time `json:"sent_at"`
			Chat   struct {
				Family         string `json:"family"`
				ConversationID string `json:"conversation_id"`
				UserID         string `json:"user_id"`
			}
			Excerpt string `json:"excerpt"`
			Reason  string `json:"reason"`
			Actor   string `json:"actor"`
		} `json:"entries"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/v1/entries/"+url.PathEscape(state), nil, &a); err != nil || *c.asJSON {
		return err
	}
	if len(a.Entries) == 0 {
		fmt.Fprintf(stdout, "no %s entries\n", state)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSENT\tCHAT\tBY\tMESSAGE\tREASON")
	for _, e := range a.Entries {
		chat := e.Chat.Family + ":" + e.Chat.ConversationID + e.Chat.UserID
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.SentAt.Local().Format("01-02 15:04:05"), chat, e.Actor, e.Excerpt, e.Reason)
	}
	return tw.Flush()
}

func runResolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCtl("resolve", "resolve ENTRY_ID --state sent|send_failed|unknown [--key KEY] [--note TEXT]", stdout, stderr)
	state := c.fs.String("state", "", "what became of the send: sent (with --key), send_failed or unknown")
	key := c.fs.String("key", "", "the processQueryKey, for --state sent")
	note := c.fs.String("note", "", "why, for the audit")
	client := c.fs.String("client", "cli", "who resolves, for the audit")
	pos, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(c.fs, "name one entry id")
	}
	body := map[string]any{"state": *state, "note": *note, "client": *client}
	if *key != "" {
		body["process_query_key"] = *key
	}
	var e struct {
		ID    uint64 `json:"id"`
		State string `json:"state"`
	}
	if _, err := c.call(ctx, http.MethodPost, "/v1/entries/"+url.PathEscape(pos[0])+"/resolve", body, &e); err != nil || *c.asJSON {
		return err
	}
	fmt.Fprintf(stdout, "entry %d is now %s\n", e.ID, e.State)
	return nil
}

// usageError prints msg and the command's usage; the process exits 2.
func usageError(fs *flag.FlagSet, msg string) error {
	fmt.Fprintln(fs.Output(), msg)
	fs.Usage()
	return usageErr{msg}
}
