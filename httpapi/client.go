package httpapi

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// maxClient bounds the "client" a caller names itself with, in
// characters. It is written as the actor ("api:<client>") of every entry
// and audit record the request causes, and shown in the console and in
// chat, so it is a name, not a document.
const maxClient = 64

// checkClient refuses a "client" (in a body, or ?client=) longer than
// maxClient characters, or holding anything but printable text: control
// characters, and zero-width and direction marks (Unicode's format
// characters), which would make one name look like another.
func checkClient(client string) error {
	if n := utf8.RuneCountInString(client); n > maxClient {
		return fmt.Errorf("client is %d characters long; it names you in the ledger and the audit trail, so at most %d", n, maxClient)
	}
	for _, r := range client {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return fmt.Errorf("client %+q holds a character that is not printable text (%U); use letters, digits, spaces and punctuation", client, r)
		}
	}
	return nil
}
