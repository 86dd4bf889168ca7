package handlers

import (
	"strings"
	"testing"
)

func TestDecodeCallback(t *testing.T) {
	good := `{"msgId":"m1","conversationId":"cid1","conversationType":"2","senderStaffId":"u1","msgtype":"text","text":{"content":" /help"},"createAt":1690362101894}`
	m, err := DecodeCallback(good)
	if err != nil || m.MsgID != "m1" || m.ConversationType != "2" || m.Text != " /help" || m.CreateAt.IsZero() {
		t.Errorf("DecodeCallback = %+v, %v", m, err)
	}
	// conversationType as a number, as some clients have seen.
	if m, err := DecodeCallback(strings.Replace(good, `"2"`, `1`, 1)); err != nil || m.ConversationType != "1" {
		t.Errorf("numeric conversationType: %+v, %v", m, err)
	}
	for _, bad := range []string{"", "not json", "[]", `{"conversationType":"1"}`, `{"msgId":"m","conversationType":"3"}`, `{"msgId":"m"}`} {
		if _, err := DecodeCallback(bad); err == nil {
			t.Errorf("DecodeCallback(%q) accepted", bad)
		}
	}
}

// TestDecodeCallbackIsStrictAboutWhoSent: Go's JSON decoding matches keys
// without regard to case and lets a later one win, so a frame carrying both
// senderStaffId and senderStaffID would run as the second. Such frames, and
// any field given twice or spelled otherwise, are refused.
func TestDecodeCallbackIsStrictAboutWhoSent(t *testing.T) {
	for _, bad := range []string{
		`{"msgId":"m","conversationType":"1","senderStaffId":"intern001","senderStaffID":"manager4220","text":{"content":"/recall last 5"}}`,
		`{"msgId":"m","conversationType":"1","senderStaffID":"manager4220"}`,
		`{"msgId":"m","conversationType":"1","senderStaffId":"intern001","senderStaffId":"manager4220"}`,
		`{"msgId":"m","MsgId":"n","conversationType":"1"}`,
		`{"msgId":"m","conversationType":"1","text":{"content":"/help","Content":"/recall last 5"}}`,
	} {
		if m, err := DecodeCallback(bad); err == nil {
			t.Errorf("DecodeCallback(%s) = %+v, want an error", bad, m)
		}
	}
	// Fields the bot does not read may come in any spelling.
	if _, err := DecodeCallback(`{"msgId":"m","conversationType":"1","senderStaffId":"u","SenderNickName":"x","extra":{"a":1}}`); err != nil {
		t.Errorf("unknown fields: %v", err)
	}
}

func FuzzDecodeCallback(f *testing.F) {
	f.Add(`{"msgId":"m1","conversationId":"cid1","conversationType":"1","senderStaffId":"u1","msgtype":"text","text":{"content":"/recall last 5"}}`)
	f.Add(`{"msgId":"m","conversationType":2,"text":{"content":null}}`)
	f.Add(`{"msgId":"","conversationType":"1"}`)
	f.Add(`{"msgId":"m","conversationType":"1","senderStaffId":"a","senderStaffID":"b"}`)
	f.Fuzz(func(t *testing.T, data string) {
		m, err := DecodeCallback(data)
		if err == nil && (m.MsgID == "" || (m.ConversationType != "1" && m.ConversationType != "2")) {
			t.Fatalf("DecodeCallback(%q) = %+v without an error", data, m)
		}
	})
}
