package api

import (
	"encoding/json"
	"fmt"
)

// Error is the API's error envelope, {"error": {"code", "message"}}: the
// body of every answer that is not 2xx (but /readyz's 503). Code is a word
// a program branches on (bad_request, not_found, ledger_unavailable, or
// DingTalk's own code); Message is a sentence for a person. Rule names the
// auto-recall rule that blocked a send (422), Field the request's field a
// refusal is about (a program, or the CLI, names it its own way: the CLI
// says --expires-in where the API says expires_in), and Entry is the
// ledger's entry of a send that failed (502, 503, 504), beside "error".
//
// It is also the Go error Client returns for such an answer, and the one
// the bot's operator actions return, with the HTTP status they answer.
type Error struct {
	Status  int // the HTTP status; not in the body
	Code    string
	Message string
	Rule    string
	Field   string
	Entry   *Entry
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// envelope is the error's JSON.
type envelope struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Rule    string `json:"rule,omitempty"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
	Entry *Entry `json:"entry,omitempty"`
}

// MarshalJSON writes the envelope (of an Error or a *Error alike).
func (e Error) MarshalJSON() ([]byte, error) {
	var v envelope
	v.Error.Code, v.Error.Message, v.Error.Rule, v.Error.Field, v.Entry = e.Code, e.Message, e.Rule, e.Field, e.Entry
	return json.Marshal(v)
}

// UnmarshalJSON reads the envelope; Status is the caller's to set.
func (e *Error) UnmarshalJSON(b []byte) error {
	var v envelope
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	e.Code, e.Message, e.Rule, e.Field, e.Entry = v.Error.Code, v.Error.Message, v.Error.Rule, v.Error.Field, v.Entry
	return nil
}
