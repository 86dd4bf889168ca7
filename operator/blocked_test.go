package operator

import (
	"testing"

	"github.com/recallbot/recallbot/autorecall"
)

// TestBlockedSpacesTheFinding: a blocked send's sentence spaces a Latin
// finding from the Chinese before it, and leaves a Chinese one joined.
func TestBlockedSpacesTheFinding(t *testing.T) {
	for _, tc := range []struct{ loc, reason, want string }{
		{"zh", "an AWS access key id", "已被规则 secrets 拦截：消息包含 AWS 访问密钥 ID"},
		{"zh", "a URL with a password", "已被规则 secrets 拦截：消息包含带密码的 URL"},
		{"zh", "a NaN", "已被规则 secrets 拦截：消息包含 NaN 值"},
		{"en", "an AWS access key id", "blocked by rule secrets: the message contains an AWS access key id"},
	} {
		got := blocked(&autorecall.BlockedError{Rule: "secrets", Reason: tc.reason}).In(tc.loc).Message
		if got != tc.want {
			t.Errorf("blocked(%q) in %s = %q, want %q", tc.reason, tc.loc, got, tc.want)
		}
	}
}
