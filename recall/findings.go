package recall

import "strings"

// findingWords are auto-recall's findings in Chinese, for the admins'
// reports in a Chinese bot and for the audit records of what a rule
// blocked or recalled (the findings themselves, as logged and audited,
// are English: a record keeps the finding as a fact, and AuditWords puts
// it in the reader's words). A finding with a variable part (a custom rule's
// name, how long ago a duplicate went) is matched by its prefix and keeps
// that part.
var findingWords = map[string]string{
	"a PEM private key":                  "PEM 私钥",
	"an AWS access key id":               "AWS 访问密钥 ID",
	"a JSON Web Token":                   "JSON Web Token（JWT）",
	"a DingTalk access token":            "钉钉 access token",
	"a DingTalk app secret":              "钉钉应用密钥（AppSecret）",
	"a URL with a password":              "带密码的 URL",
	"a password or token assignment":     "密码或令牌赋值",
	"one of the bot's own credentials":   "机器人自己的凭据",
	"an unrendered {{ }} template":       "未渲染的 {{ }} 模板",
	"an unexpanded ${…} variable":        "未展开的 ${…} 变量",
	`a Go template's "<no value>"`:       "Go 模板的「<no value>」",
	"a NaN":                              "NaN 值",
	"a lone undefined or null value":     "单独的 undefined 或 null 值",
	"a recall rule caught it":            "撤回规则发现了问题",
	"the pattern of rule ":               "规则的匹配模式 ",
	"the same content sent to this chat": "相同内容已发送到本会话",
}

// FindingIn is a finding in locale, for a report to people: English as it
// is, Chinese from findingWords (a finding it does not know stays as it
// is, a custom rule's own words).
func FindingIn(reason, locale string) string {
	if locale == "en" {
		return reason
	}
	if w, ok := findingWords[reason]; ok {
		return w
	}
	for en, zh := range findingWords {
		if rest, ok := strings.CutPrefix(reason, en); ok && strings.HasSuffix(en, " ") {
			return zh + rest
		}
	}
	if rest, ok := strings.CutPrefix(reason, "the same content sent to this chat "); ok {
		return "相同内容 " + strings.TrimSuffix(rest, " ago") + "前已发送到本会话"
	}
	return reason
}
