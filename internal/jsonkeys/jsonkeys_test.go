package jsonkeys

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestRepeated(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want: the error, "" for none
	}{
		{`{"user_id":"a","text":"x"}`, ""},
		{`{"user_id":"a","user_id":"b"}`, `the key "user_id" is given twice; give each key once`},
		{`{"user_id":"a","USER_ID":"b"}`, `the keys "user_id" and "USER_ID" are one key written twice (keys are matched without regard to case); give each key once`},
		{`{"uſer_id":"a","user_id":"b"}`, `the keys "uſer_id" and "user_id" are one key written twice (keys are matched without regard to case); give each key once`},
		{`{"targets":[{"family":"oto","user_id":"a"},{"user_id":"a","user_id":"b"}]}`, `the key "user_id" is given twice in targets[1]; give each key once`},
		{`{"msg_param":{"content":"a","content":"b"}}`, `the key "content" is given twice in msg_param; give each key once`},
		{`{"a":{"b":1},"c":{"b":2}}`, ""}, // the same key in two objects
		{`{"user_ids":["a","a"]}`, ""},    // values may repeat
		{`[{"k":1},{"k":1}]`, ""},
		{`"text"`, ""},
	} {
		err := Repeated([]byte(tc.in))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Repeated(%s) = %q, want %q", tc.in, got, tc.want)
		}
		var re *RepeatedError
		if tc.want != "" && !errors.As(err, &re) {
			t.Errorf("Repeated(%s) = %T, want a *RepeatedError", tc.in, err)
		}
	}
	for _, bad := range []string{``, `{"a":`, `{"a" 1}`, `{"a":[1,}`} {
		if err := Repeated([]byte(bad)); err == nil {
			t.Errorf("Repeated(%q) accepted it", bad)
		}
	}
}

// TestRepeatedIsWhatGoLetsThrough: each repetition Repeated refuses is one
// Go's decoder accepts silently, taking the later value.
func TestRepeatedIsWhatGoLetsThrough(t *testing.T) {
	for _, in := range []string{`{"user_id":"a","user_id":"b"}`, `{"user_id":"a","USER_ID":"b"}`, `{"uſer_id":"a","user_id":"b"}`, `{"user_id":"a","uſer_Id":"b"}`} {
		var v struct {
			UserID string `json:"user_id"`
		}
		if err := json.Unmarshal([]byte(in), &v); err != nil || v.UserID != "b" {
			t.Errorf("json.Unmarshal(%s) = %q, %v: the premise changed", in, v.UserID, err)
		}
		if Repeated([]byte(in)) == nil {
			t.Errorf("Repeated(%s) = nil", in)
		}
	}
}

// FuzzRepeated: on any JSON, Repeated either finds nothing or names a
// repeated key; only what is not JSON is a plain error.
func FuzzRepeated(f *testing.F) {
	f.Add(`{"user_id":"a","USER_ID":"b","targets":[{"k":1}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		err := Repeated([]byte(in))
		var re *RepeatedError
		if json.Valid([]byte(in)) && err != nil && !errors.As(err, &re) {
			t.Fatalf("Repeated(%q) = %v on valid JSON", in, err)
		}
	})
}

// BenchmarkRepeated is the check on the largest body the HTTP API takes:
// a broadcast to 100,000 users (about 2 MB), against decoding it.
func BenchmarkRepeated(b *testing.B) {
	ids := make([]string, 100_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("staff%06d", i)
	}
	body, _ := json.Marshal(map[string]any{"user_ids": ids, "text": "all hands at 15:00", "client": "hr"})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var v struct {
				UserIDs []string `json:"user_ids"`
				Text    string   `json:"text"`
				Client  string   `json:"client"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("repeated", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := Repeated(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRepeatedExact: in the objects exact names (Go maps, such as a
// Prometheus label set) keys differing in case are two keys, and only a
// key written twice exactly is refused; elsewhere keys are compared as Go
// matches them to fields.
func TestRepeatedExact(t *testing.T) {
	labels := func(path string) bool { return path == "labels" || path == "alerts[0].labels" }
	for _, tc := range []struct{ in, want string }{
		{`{"labels":{"env":"a","Env":"b"}}`, ""},
		{`{"alerts":[{"labels":{"env":"a","Env":"b"}}]}`, ""},
		{`{"labels":{"env":"a","env":"b"}}`, `the key "env" is given twice in labels; give each key once`},
		{`{"receiver":"a","Receiver":"b","labels":{}}`, `the keys "receiver" and "Receiver" are one key written twice (keys are matched without regard to case); give each key once`},
		{`{"alerts":[{"status":"firing","Status":"resolved"}]}`, `the keys "status" and "Status" in alerts[0] are one key written twice (keys are matched without regard to case); give each key once`},
	} {
		err := RepeatedExact([]byte(tc.in), labels)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("RepeatedExact(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
