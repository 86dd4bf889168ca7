package invisible

import "testing"

func TestStrip(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                         "plain",
		"zero\u200bwidth":               "zerowidth",
		"\u202eoverride\u202c":          "override",
		"\ufeffbom and \u2066iso\u2069": "bom and iso",
		"值班\u200d：张三":                   "值班：张三",
	} {
		if got := Strip(in); got != want {
			t.Errorf("Strip(%q) = %q, want %q", in, got, want)
		}
	}
}
