package operator

import (
	"unicode"
	"unicode/utf8"

	"github.com/recallbot/recallbot/recall"
)

// maxClient bounds the "client" a caller names itself with, in
// characters. It is written as the actor ("api:<client>") of every entry
// and audit record the request causes, and shown in the console and in
// chat, so it is a name, not a document.
const maxClient = 64

// CheckClient refuses a "client" (in a body, or ?client=) longer than
// maxClient characters, or holding anything but printable text: control
// characters, and zero-width and direction marks (Unicode's format
// characters), which would make one name look like another. Every action
// checks the name it is given; the HTTP API checks ?client= on every
// route too, those that name nobody included. The error is a *Refusal.
func CheckClient(client string) error {
	if n := utf8.RuneCountInString(client); n > maxClient {
		return badRequest("client.long", n, maxClient)
	}
	for _, r := range client {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return badRequest("client.unprintable", recall.Value(client), r)
		}
	}
	return nil
}

// actor names a caller in the ledger and the audit trail.
func actor(client string) string {
	if client == "" {
		return "api"
	}
	return "api:" + client
}

// caller checks client and names it as an actor.
func caller(client string) (string, error) {
	if err := CheckClient(client); err != nil {
		return "", err
	}
	return actor(client), nil
}
