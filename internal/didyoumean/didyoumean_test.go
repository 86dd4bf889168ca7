package didyoumean

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"send", "send", 0}, {"sned", "send", 2}, {"local", "locale", 1},
		{"recal", "recall", 1}, {"frobnicate", "send", 9}, {"撤回", "撤销", 1}, {"", "abc", 3},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
