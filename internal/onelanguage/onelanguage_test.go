package onelanguage

import "testing"

func TestEnglishRun(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"账本暂不可用，请一分钟后再试", ""},
		{"oto 单聊需要接收人的 user id", ""},
		{"需要 `text`（或 `msg_key` 和 `msg_param`）", ""},
		{"请求头 `Authorization: Bearer <token>`", ""},
		{"请指明一条消息：GET /v1/messages/{process_query_key}（路径需转义）", ""},
		{"client %+q 含有不可打印的字符（%U）", ""},
		{"第 %[1]d 字节处 JSON Web Token 有误", "JSON Web Token"},
		{"撤回未能完成：the ledger is unavailable", "the ledger is"},
		{"preview (nothing recalled): 2 条", "preview (nothing recalled):"},
	} {
		if got := EnglishRun(c.in); got != c.want {
			t.Errorf("EnglishRun(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
