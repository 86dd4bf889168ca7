package cli

import (
	"testing"

	"github.com/recallbot/recallbot/api"
)

// TestRefusalCodeReadsAsACode: a refusal's code and status read as a
// code after the sentence ("错误码 bad_request", "code bad_request"), and a
// sentence that already ends in a bracket is not followed by another one.
func TestRefusalCodeReadsAsACode(t *testing.T) {
	for _, c := range []struct {
		msg  string
		code string
		en   bool
		want string
	}{
		{"没有选择任何消息", "bad_selection", false, "没有选择任何消息（错误码 bad_selection，HTTP 400）"},
		{"nothing selected", "bad_selection", true, "nothing selected (code bad_selection, HTTP 400)"},
		{"账本中没有会话 cidNope== 的消息（用户的单聊请用 --user）", "bad_request", false, "账本中没有会话 cidNope== 的消息（用户的单聊请用 --user）；错误码 bad_request，HTTP 400"},
		{"no messages of chat cidNope== in the ledger (use --user for a person's chat)", "bad_request", true, "no messages of chat cidNope== in the ledger (use --user for a person's chat); code bad_request, HTTP 400"},
		{"坏了", "", false, "坏了（HTTP 400）"},
		{"broken (really)", "", true, "broken (really); HTTP 400"},
	} {
		e := &botError{ae: &api.Error{Status: 400, Code: c.code, Message: c.msg}, en: c.en}
		if got := e.Error(); got != c.want {
			t.Errorf("botError(%q, %q, en=%v) = %q, want %q", c.msg, c.code, c.en, got, c.want)
		}
	}
}
