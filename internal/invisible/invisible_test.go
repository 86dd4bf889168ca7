package invisible

import "testing"

func TestStrip(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                                   "plain",
		"zero\u200bwidth":                         "zerowidth",
		"\u202eoverride\u202c":                    "override",
		"\ufeffbom and \u2066iso\u2069":           "bom and iso",
		"值班\u200d：张三":                             "值班：张三",
		"cgj\u034fhangul\u3164\uffa0\u115f\u1160": "cgjhangul",
		"khmer\u17b4\u17b5mongol\u180b\u180f":     "khmermongol",
		"vs\ufe0f\U000E0100braille\u2800":         "vsbraille",
		"line\u2028para\u2029end":                 "line para end",
	} {
		if got := Strip(in); got != want {
			t.Errorf("Strip(%q) = %q, want %q", in, got, want)
		}
	}
}
