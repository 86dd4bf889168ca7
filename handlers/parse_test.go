package handlers

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	key := "Kna29Ra5pdJznx1ghavbumkQKwDzgfxZLapw55G7x0Q="
	tests := []struct {
		in   string
		want Command
	}{
		{"/help", Command{Verb: VerbHelp}},
		{"  /HELP  ", Command{Verb: VerbHelp}},
		{"／帮助", Command{Verb: VerbHelp}},
		{"/recall last 5", Command{Verb: VerbRecall, Last: 5}},
		{" /Recall   LAST   5 ", Command{Verb: VerbRecall, Last: 5}},
		{"@recallbot /recall last 5", Command{Verb: VerbRecall, Last: 5}},
		{"/撤回 最近 5", Command{Verb: VerbRecall, Last: 5}},
		{"/撤回 5", Command{Verb: VerbRecall, Last: 5}},
		{"/recall since 30m", Command{Verb: VerbRecall, Since: 30 * time.Minute}},
		{"/撤回 since 2小时", Command{Verb: VerbRecall, Since: 2 * time.Hour}},
		{"/recall since 1d", Command{Verb: VerbRecall, Since: 24 * time.Hour}},
		{"/recall batch b-20261126-0215-3f9a", Command{Verb: VerbRecall, BatchID: "b-20261126-0215-3f9a"}},
		{"/recall " + key, Command{Verb: VerbRecall, Keys: []string{key}}},
		{"/recall " + key + " " + key, Command{Verb: VerbRecall, Keys: []string{key, key}}},
		{"/recall last 5 in cidAbC==", Command{Verb: VerbRecall, Last: 5, In: "cidAbC=="}},
		{"/recall last 5 to manager4220", Command{Verb: VerbRecall, Last: 5, To: "manager4220"}},
		{"/撤回 最近 5 给 manager4220 预览", Command{Verb: VerbRecall, Last: 5, To: "manager4220", DryRun: true}},
		{"/recall last 5 --dry-run", Command{Verb: VerbRecall, Last: 5, DryRun: true}},
		{"/preview last 12", Command{Verb: VerbRecall, Last: 12, DryRun: true}},
		{"/confirm ab12", Command{Verb: VerbConfirm, Code: "AB12"}},
		{"/确认 4821", Command{Verb: VerbConfirm, Code: "4821"}},
		{"/sent", Command{Verb: VerbSent}},
		{"/sent 20", Command{Verb: VerbSent, N: 20}},
		{"/audit 3", Command{Verb: VerbAudit, N: 3}},
		{"/status", Command{Verb: VerbStatus}},
		{`/recall matching "db-7"`, Command{Verb: VerbRecall, Matching: "db-7"}},
		{`/recall matching "disk full" since 2h`, Command{Verb: VerbRecall, Since: 2 * time.Hour, Matching: "disk full"}},
		{"/撤回 最近 5 包含 “磁盘 告警”", Command{Verb: VerbRecall, Last: 5, Matching: "磁盘 告警"}},
		{"/recall last 3 matching db-7 in cidAbC==", Command{Verb: VerbRecall, Last: 3, Matching: "db-7", In: "cidAbC=="}},
		{"/preview matching 「发布」 to manager4220", Command{Verb: VerbRecall, Matching: "发布", To: "manager4220", DryRun: true}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	notCommands := []string{"", "   ", "hello", "recall last 5", "/", "@bot hi", `@"bot /recall"`, `@"x /y`, `@"x /recall last 1`}
	for _, in := range notCommands {
		if _, err := Parse(in); !errors.Is(err, ErrNotACommand) {
			t.Errorf("Parse(%q) = %v, want ErrNotACommand", in, err)
		}
	}
	usage := []string{
		"/frobnicate", "/recall", "/recall last", "/recall last five", "/recall last 0", "/recall last -3",
		"/recall last 5 6", "/recall since soon", "/recall since -5m", "/recall batch", "/recall hello",
		"/recall last 5 in", "/recall last 5 in a to b", "/recall matching", `/recall matching ""`, "/recall batch x in cid", "/confirm", "/confirm a b",
		"/sent x", "/sent 1 2", "/audit 0", "/撤回 0",
	}
	for _, in := range usage {
		_, err := Parse(in)
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Msg == "" {
			t.Errorf("Parse(%q) = %v, want a UsageError", in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"/recall last 5", "/撤回 最近 5 给 u1 预览", "/confirm 1234", "/recall since 1h30m", "/recall batch b-1 --dry-run", "/sent 3", "@bot /help"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cmd, err := Parse(s)
		if err != nil {
			var ue *UsageError
			if !errors.Is(err, ErrNotACommand) && !errors.As(err, &ue) {
				t.Fatalf("Parse(%q) returned an untyped error %v", s, err)
			}
			return
		}
		if cmd.Verb == "" || cmd.Last < 0 || cmd.N < 0 || cmd.Since < 0 {
			t.Fatalf("Parse(%q) = %+v", s, cmd)
		}
		if cmd.Verb == VerbRecall && cmd.Last == 0 && cmd.Since == 0 && cmd.BatchID == "" && len(cmd.Keys) == 0 {
			t.Fatalf("Parse(%q) = a recall of nothing", s)
		}
	})
}

func TestOwns(t *testing.T) {
	b := &Bot{}
	for text, want := range map[string]bool{
		"/recall last 5": true, "/撤回 最近 5": true, "/recall last": true, "/confirm AB12": true, "/sent": true, "/audit": true,
		"/help": false, "/status": false, "/deploy prod": false, "hello": false, "": false,
	} {
		if got := b.Owns(text); got != want {
			t.Errorf("Owns(%q) = %v, want %v", text, got, want)
		}
	}
}
