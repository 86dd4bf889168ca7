package cli

// The operator's commands are clients of a running bot's local HTTP API
// (send.go, recall.go, broadcast.go, audit.go, entries.go, resolve.go).
// They reach it through api.Client and speak its types, so the CLI has no
// copy of a body or of the error envelope. The token comes from
// RECALLBOT_HTTP_TOKEN, the address from -api or RECALLBOT_API.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/recallbot/recallbot/api"
)

// ctl is one operator command talking to the bot's HTTP API.
type ctl struct {
	fs     *flag.FlagSet
	api    *string
	asJSON *bool
	out    io.Writer
	bot    *api.Client // set by parse
	// lang is the language the command speaks until the bot states its
	// own (words.go).
	lang string
}

func newCtl(name, synopsis string, stdout, stderr io.Writer) *ctl {
	fs := newFlagSet(name, synopsis, stderr)
	def := os.Getenv("RECALLBOT_API")
	if def == "" {
		def = "http://127.0.0.1:8470"
	}
	return &ctl{fs: fs, out: stdout, lang: envLang(os.Getenv),
		api:    fs.String("api", def, "the bot's HTTP API, from $RECALLBOT_API when that is set"),
		asJSON: fs.Bool("json", false, "print the API's JSON answer instead of text")}
}

// parse reads the flags (also after positional arguments) and the token,
// and makes the client of the bot they name.
func (c *ctl) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(c.fs, args, c.lang); err != nil {
			return nil, err
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	token := os.Getenv("RECALLBOT_HTTP_TOKEN")
	if token == "" {
		return nil, errors.New(c.say("err.token"))
	}
	c.bot = api.NewClient(*c.api, token)
	return pos, nil
}

// printJSON prints an answer as -json shows it: the API's JSON, indented.
// The answer's type is the one the server wrote it from, so this is the
// JSON as it came.
func (c *ctl) printJSON(answer any) error {
	b, err := json.MarshalIndent(answer, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.out, string(b))
	return err
}

// chatFlags are the ways a command names a chat.
type chatFlags struct{ group, private, user, chat *string }

// addChatFlags adds the flags; anyKind adds --chat, a conversation id
// whose kind the ledger knows: a recall's, not a send's (the first message
// to a chat has nothing in the ledger to tell its kind by).
func addChatFlags(fs *flag.FlagSet, anyKind bool) chatFlags {
	f := chatFlags{
		group:   fs.String("group", "", "a group's openConversationId"),
		private: fs.String("private", "", "a person-to-person chat's openConversationId"),
		user:    fs.String("user", "", "a user's staffId: their 1:1 chat with the bot"),
		chat:    new(string),
	}
	if anyKind {
		f.chat = fs.String("chat", "", "a conversation id of either kind, as the ledger knows it")
	}
	return f
}

// target is the chat the flags name; n is how many of them were set.
// --chat gives a conversation id without a family: the ledger knows it.
func (f chatFlags) target() (ch api.Chat, n int) {
	for _, kv := range []struct {
		v      string
		family api.Family
		user   bool
	}{{*f.group, api.Group, false}, {*f.private, api.Private, false}, {*f.user, api.OTO, true}, {*f.chat, "", false}} {
		if kv.v == "" {
			continue
		}
		n++
		if kv.user {
			ch.UserID = kv.v
		} else {
			ch.ConversationID = kv.v
		}
		if kv.family != "" {
			ch.Family = kv.family
		}
	}
	return ch, n
}
