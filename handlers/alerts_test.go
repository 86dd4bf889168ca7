package handlers

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseAlertVerbs(t *testing.T) {
	tests := []struct {
		in   string
		want Command
	}{
		{"/silence a1b2c3 2h disk being replaced", Command{Verb: VerbSilence, Target: "a1b2c3", For: 2 * time.Hour, Comment: "disk being replaced"}},
		{"@recallbot /静默 a1b2c3-2 30分钟 正在更换磁盘", Command{Verb: VerbSilence, Target: "a1b2c3-2", For: 30 * time.Minute, Comment: "正在更换磁盘"}},
		{"/silence a1b2c3 1d", Command{Verb: VerbSilence, Target: "a1b2c3", For: 24 * time.Hour}},
		{`/silence a1b2c3 2h "planned work"`, Command{Verb: VerbSilence, Target: "a1b2c3", For: 2 * time.Hour, Comment: "planned work"}},
		{"/ack a1b2c3", Command{Verb: VerbAck, Target: "a1b2c3"}},
		{"/认领 a1b2c3 我来处理", Command{Verb: VerbAck, Target: "a1b2c3", Comment: "我来处理"}},
		{"/确认告警 a1b2c3", Command{Verb: VerbAck, Target: "a1b2c3"}},
		{"/unsilence a1b2c3", Command{Verb: VerbUnsilence, Target: "a1b2c3"}},
		{"/取消静默 a1b2c3", Command{Verb: VerbUnsilence, Target: "a1b2c3"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"/silence", "/silence a1b2c3", "/silence a1b2c3 soon", "/ack", "/unsilence a1b2c3 now", "/静默 a1b2c3 2h " + string(make([]rune, 201))} {
		var ue *UsageError
		if _, err := Parse(in); !errors.As(err, &ue) || ue.In("en") == "" || ue.In("zh") == "" {
			t.Errorf("Parse(%q) = %v, want a usage error in both languages", in, err)
		}
	}
	// /确认 is still /confirm.
	if got, err := Parse("/确认 4821"); err != nil || got.Verb != VerbConfirm {
		t.Errorf("Parse(/确认 4821) = %+v, %v", got, err)
	}
}
