package operator

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/recall"
)

// Refusal is a refused action as facts: the HTTP status, a code (a stable
// English word that programs branch on) and the sentence for a person,
// kept as a key of refusalWords and its arguments, or as a function of the
// locale for words another package keeps (recall.SelectionError.In,
// dingtalk.Describe). The sentence is put in words when the answer is
// written (AsError), in the language the answer is in; Error is English,
// for logs, which stay English.
type Refusal struct {
	Status int
	Code   string
	// Rule names the auto-recall rule that blocked a send (422).
	Rule string
	// Field is the request's field the refusal is about, for a program
	// (or the CLI) to name in its own way.
	Field string
	// Entry is the ledger's entry of a send that failed.
	Entry *api.Entry
	words Words
}

// Words is a sentence (or a phrase of one) in either language, chosen when
// it is shown: "en", or Chinese for anything else.
type Words func(locale string) string

// In is the words in locale.
func (w Words) In(locale string) string { return w(locale) }

// inLocale is what renders itself in a locale: Words, a
// recall.SelectionError. An argument of a sentence that is one is rendered
// in the sentence's language.
type inLocale interface{ In(locale string) string }

// Say is the sentence key of words (Chinese first) with args, rendered
// when it is shown; an argument that has words of its own (In) is shown
// in the same language. A key words lacks is shown as it is.
func Say(words map[string][2]string, key string, args ...any) Words {
	return func(locale string) string {
		w, ok := words[key]
		if !ok {
			return key
		}
		s := w[0]
		if locale == "en" {
			s = w[1]
		}
		if len(args) == 0 {
			return s
		}
		in := make([]any, len(args))
		for i, a := range args {
			if l, ok := a.(inLocale); ok {
				a = l.In(locale)
			}
			in[i] = a
		}
		return fmt.Sprintf(s, in...)
	}
}

// NewRefusal is a refusal worded by words, for the packages that keep
// their own (the HTTP API's routes and body checks).
func NewRefusal(status int, code string, words Words) *Refusal {
	return &Refusal{Status: status, Code: code, words: words}
}

func (r *Refusal) Error() string { return r.In("en").Error() }

// In is the refusal as the API answers it, its sentence in locale.
func (r *Refusal) In(locale string) *api.Error {
	return &api.Error{Status: r.Status, Code: r.Code, Message: r.words(locale), Rule: r.Rule, Field: r.Field, Entry: r.Entry}
}

// refused is the refusal of a request the caller can fix, worded by the
// operator's key.
func refused(status int, code, key string, args ...any) *Refusal {
	return NewRefusal(status, code, Say(refusalWords, key, args...))
}

func badRequest(key string, args ...any) *Refusal {
	return refused(http.StatusBadRequest, "bad_request", key, args...)
}

// about is r about the request's field.
func (r *Refusal) about(field string) *Refusal {
	r.Field = field
	return r
}

func notFound(key string, args ...any) *Refusal {
	return refused(http.StatusNotFound, "not_found", key, args...)
}

// say is a phrase of the operator's words, for a sentence's argument.
func say(key string, args ...any) Words { return Say(refusalWords, key, args...) }

// AsError is err as the API answers it, its words in locale: an action's
// refusal, or a 500 that says no more than where to look. An *api.Error
// (an answer relayed as it came) is returned as it is.
func AsError(err error, locale string) *api.Error {
	var r *Refusal
	if errors.As(err, &r) {
		return r.In(locale)
	}
	var e *api.Error
	if errors.As(err, &e) {
		return e
	}
	return refused(http.StatusInternalServerError, "internal", "internal").In(locale)
}

// selectionWords are the words of a *recall.SelectionError in err (the
// same the chat answers with), or err's own for any other.
func selectionWords(err error) Words {
	var se *recall.SelectionError
	if errors.As(err, &se) {
		return se.In
	}
	return func(string) string { return err.Error() }
}

// Value is a value someone typed, for a refusal's sentence: 「%s」 in
// Chinese, %q in English (recall.Value), for the packages that word their
// own refusals (the HTTP API's routes).
type Value = recall.Value
