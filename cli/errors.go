package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/recallbot/recallbot/api"
)

// botError is a refusal of the bot as a command prints it: the bot's
// sentence first, in its language, with the names of the request's fields
// turned into the flags the user typed (--expires-in, not expires_in), then
// the code and the HTTP status, named as a code ("错误码 bad_request",
// "code bad_request") so they do not read as words of the sentence; and, where the refusal leaves the user
// something to do, a line that says what.
type botError struct {
	ae   *api.Error
	en   bool
	next string // what to do now, or ""
}

func (e *botError) Error() string {
	msg := flagNames(e.ae.Message, e.ae.Field)
	lang := 0
	if e.en {
		lang = 1
	}
	tag := fmt.Sprintf("HTTP %d", e.ae.Status)
	if e.ae.Code != "" {
		tag = fmt.Sprintf(texts["err.code"][lang], e.ae.Code, e.ae.Status)
	}
	// A sentence that ends in a bracket of its own takes the code after a
	// semicolon, so no two brackets stand back to back.
	switch {
	case e.en && strings.HasSuffix(msg, ")"):
		msg += "; " + tag
	case e.en:
		msg += " (" + tag + ")"
	case strings.HasSuffix(msg, "）"):
		msg += "；" + tag
	default:
		msg += "（" + tag + "）"
	}
	if e.next != "" {
		msg += "\n" + e.next
	}
	return msg
}

func (e *botError) Unwrap() error { return e.ae }

// flagOf is the CLI's flag for each field of the API's requests that a
// refusal may name.
var flagOf = map[string]string{
	"text": "--text", "expires_in": "--expires-in", "batch_id": "--batch", "client": "--client",
	"user_id": "--user", "conversation_id": "--chat", "last": "--last", "since": "--since",
	"keys": "--keys", "matching": "--matching", "process_query_key": "--key",
}

// fieldName is a field's name standing as a word: not inside a longer
// name (recall.max_last is a setting, not the field last).
var fieldName = regexp.MustCompile(`(^|[^A-Za-z0-9_.\-])(text|expires_in|batch_id|client|user_id|conversation_id|last|since|keys|matching|process_query_key)($|[^A-Za-z0-9_.\-])`)

// flagNames is msg with the fields it names as flags, when the refusal is
// about a field (api.Error.Field): only then does msg name fields rather
// than use the same words as prose.
func flagNames(msg, field string) string {
	if field == "" {
		return msg
	}
	// Two passes: neighbouring names share the character between them.
	for range 2 {
		msg = fieldName.ReplaceAllStringFunc(msg, func(m string) string {
			sub := fieldName.FindStringSubmatch(m)
			return sub[1] + flagOf[sub[2]] + sub[3]
		})
	}
	return msg
}

// botErr turns a refusal of the bot into the command's words (botError);
// any other error is returned as it is.
func (c *ctl) botErr(err error) error {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return err
	}
	be := &botError{ae: ae, en: c.en()}
	if ae.Code == "outcome_unknown" && ae.Entry != nil {
		be.next = c.say("next.outcome_unknown", ae.Entry.ID)
	}
	return be
}
