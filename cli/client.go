package cli

// The operator's commands are clients of a running bot's local HTTP API
// (send.go, recall.go, broadcast.go, audit.go, entries.go, resolve.go).
// The token comes from RECALLBOT_HTTP_TOKEN, the address from -api or
// RECALLBOT_API.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// ctl is one operator command talking to the bot's HTTP API.
type ctl struct {
	fs     *flag.FlagSet
	api    *string
	asJSON *bool
	out    io.Writer
	token  string
	// lang is the language of the bot's answers (its Content-Language):
	// the command's own words follow it (words.go).
	lang string
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
	if l := resp.Header.Get("Content-Language"); l != "" {
		c.lang = l
	}
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
