package app_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// TestCLIErrorsNameTheFlagsTyped: a refusal the CLI prints names the
// flags the user typed, not the API's fields; its code and status come
// after the sentence, in the sentence's punctuation; and a send in doubt
// says what to do next with its entry, which the entries list explains.
func TestCLIErrorsNameTheFlagsTyped(t *testing.T) {
	t.Parallel()
	h := start(t, dingtalktest.Options{}, func(c *config.Config) { c.Locale = "zh" })
	var out, errOut bytes.Buffer
	if err := h.run([]string{"send", "--private", privCID, "--text", "first"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "消息 ID") || strings.Contains(s, "key") {
		t.Errorf("send: %q: the key is 消息 ID in Chinese", s)
	}
	for _, c := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"send", "--group", "cidX==", "--chat", "cidX=="}, []string{"-chat"}, nil},
		{[]string{"send", "--group", "cidX=="}, []string{"--text"}, []string{"msg_key", "`"}},
		{[]string{"send", "--group", "cidX==", "--text", "t", "--expires-in", "abc"}, []string{`--expires-in "abc"`}, []string{"expires_in"}},
		{[]string{"send", "--private", privCID, "--text", "t", "--expires-in", "48h"}, []string{"--expires-in 为 2 天，太长", "（错误码 refused，HTTP 400）"}, []string{"expires_in", "recallbot: refused"}},
		{[]string{"recall", "--chat", "cidNope==", "--last", "1"}, []string{"--user", "；错误码 bad_request，HTTP 400"}, []string{"user_id", "）（"}},
		{[]string{"recall", "--chat", privCID, "--last", "500"}, []string{"「recall.max_last」", "--since"}, []string{"`"}},
		{[]string{"recall", "--chat", privCID, "--last", "0"}, []string{"--last"}, []string{"没有选择任何消息", "selection is empty"}},
		{[]string{"resolve", "1", "--state", "send_failed"}, []string{"记录 1 已是「已发送」，不是结果待定"}, []string{" sent", "待确认", "“"}},
		{[]string{"resolve", "76", "--state", "sent"}, []string{"--key"}, []string{"process_query_key"}},
	} {
		out.Reset()
		errOut.Reset()
		err := h.run(c.args, &out, &errOut)
		if err == nil {
			t.Errorf("recallbot %s: accepted", strings.Join(c.args, " "))
			continue
		}
		got := err.Error() + "\n" + errOut.String()
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("recallbot %s: %q does not say %q", strings.Join(c.args, " "), got, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(got, w) {
				t.Errorf("recallbot %s: %q says %q", strings.Join(c.args, " "), got, w)
			}
		}
	}

	h.srv.Fail(dingtalktest.PathPrivateSend, dingtalktest.FaultServerError, 1)
	err := h.run([]string{"send", "--private", privCID, "--text", "in doubt"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "错误码 outcome_unknown，HTTP 504") || !strings.Contains(err.Error(), "recallbot resolve 2 --state send_failed") ||
		!strings.Contains(err.Error(), "recallbot resolve 2 --state sent --key") {
		t.Errorf("a send in doubt does not say what to do with entry 2: %v", err)
	}
	out.Reset()
	if err := h.run([]string{"entries"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "结果待定") {
		t.Errorf("entries: the pending entry has no reason: %q %v", out.String(), err)
	}
}
