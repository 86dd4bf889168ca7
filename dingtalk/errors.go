package dingtalk

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// APIError is any non-2xx answer from DingTalk (non-JSON bodies included),
// or a 2xx answer that is not the JSON expected. Callers branch with
// errors.As.
type APIError struct {
	Path      string // the API path, e.g. /v1.0/robot/privateChatMessages/batchRecall
	Status    int    // the HTTP status
	Code      string // DingTalk's error code; "" when the body was not DingTalk's JSON
	Message   string // DingTalk's message, or the start of a non-JSON body
	RequestID string
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = "non-JSON answer"
	}
	s := fmt.Sprintf("dingtalk %s: HTTP %d %s: %s", e.Path, e.Status, code, e.Message)
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

// TransportError is a call whose request was written in full but that got
// no answer: the connection reset, a timeout. DingTalk may have acted on
// it: the outcome of such a send is unknown.
type TransportError struct {
	Path string
	Err  error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("dingtalk %s: no answer: %v", e.Path, e.Err)
}
func (e *TransportError) Unwrap() error { return e.Err }

// NotSentError is a call that never reached DingTalk in full: no access
// token could be had, the rate-limit wait or the caller's context ended
// first, or the connection failed before the request was written. DingTalk
// cannot have acted on it.
type NotSentError struct {
	Path string
	Err  error
}

func (e *NotSentError) Error() string {
	return fmt.Sprintf("dingtalk %s: not sent: %v", e.Path, e.Err)
}
func (e *NotSentError) Unwrap() error { return e.Err }

// NotSent reports whether err says the call never reached DingTalk.
func NotSent(err error) bool {
	var ns *NotSentError
	return errors.As(err, &ns)
}

// Ambiguous reports whether DingTalk may have acted on a call that failed:
// the request was written but no answer came, DingTalk answered 5xx, or it
// answered 2xx with a body that could not be read. A 4xx, a rate-limit
// refusal and a call that was never sent are definite.
func Ambiguous(err error) bool {
	if err == nil || NotSent(err) {
		return false
	}
	var te *TransportError
	if errors.As(err, &te) {
		return true
	}
	var ae *APIError
	return errors.As(err, &ae) && (ae.Status >= 500 || ae.Status < 300)
}

func newAPIError(path string, resp *http.Response, body []byte) *APIError {
	e := &APIError{Path: path, Status: resp.StatusCode, RequestID: resp.Header.Get("x-acs-request-id")}
	var b struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"requestid"`
	}
	if json.Unmarshal(body, &b) == nil && b.Code != "" {
		e.Code, e.Message = b.Code, b.Message
		if b.RequestID != "" {
			e.RequestID = b.RequestID
		}
		return e
	}
	e.Message = snippet(body)
	return e
}

// snippet is the printable start of a body, for error messages.
func snippet(b []byte) string {
	const n = 120
	s := strings.ToValidUTF8(string(b), "?")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return strings.Join(strings.Fields(s), " ")
}

// Retryable reports whether err is worth trying again later: a 5xx, a QPS
// refusal, no answer at all, or a call that could not be sent (other than
// for a refused token). Refusals that would only repeat themselves (4xx)
// are not. Sends must not be retried on this alone: see Ambiguous.
func Retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status >= 500 || ae.Code == "system.error" || strings.HasPrefix(ae.Code, "Forbidden.AccessDenied.QpsLimit")
	}
	var te *TransportError
	return errors.As(err, &te) || NotSent(err)
}

// IsQPS reports whether err is DingTalk's rate limit.
func IsQPS(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && strings.HasPrefix(ae.Code, "Forbidden.AccessDenied.QpsLimit")
}

// Reason is what recallbot makes of a per-key failedResult reason of a
// recall. DingTalk documents only SYSTEM_ERROR ("system error" in the oto
// API's example); the rest are the emulator's inferred strings, and any
// reason not listed here is ReasonUnknown: the caller asks DingTalk's
// query APIs rather than guess.
type Reason int

// Reason kinds.
const (
	ReasonUnknown         Reason = iota // not a string recallbot can read: ask
	ReasonTransient                     // SYSTEM_ERROR: try again
	ReasonAlreadyRecalled               // the message was recalled before
	ReasonExpired                       // past the recall window
)

// ReasonKind classifies a failedResult reason.
func ReasonKind(reason string) Reason {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(reason), "_", " ")) {
	case "system error":
		return ReasonTransient
	case "already recalled":
		return ReasonAlreadyRecalled
	case "expired":
		return ReasonExpired
	}
	return ReasonUnknown
}

// sentence is an error code in words an admin understands.
type sentence struct{ zh, en string }

// sentences covers every code of the privateChatMessages/batchRecall error
// table (docs/dingtalk.md §4), the common codes of §1-§6 there, and the per-key
// reasons recalls report.
var sentences = map[string]sentence{
	// The batchRecall error table (docs/dingtalk.md §4).
	"invalid.openConversationId":                {"会话 ID 无效，请确认 openConversationId 是否正确", "the chat ID (openConversationId) is not valid: check that it is correct"},
	"invalidParameter.robotCode":                {"机器人编码无效，请确认机器人仍在该会话中", "the robotCode is not valid: check that the bot is still in the chat"},
	"invalidParameter.processQueryKeys.overMax": {"一次最多撤回 20 条消息，请分批撤回", "more than 20 messages in one call: recall them in batches of 20"},
	"not.allowed.robotCode":                     {"该应用无权使用这个机器人编码", "this app is not allowed to use that robotCode"},
	"invalidParameter.param.invalid":            {"请求参数无效，请检查是否有空值", "a parameter is not valid: check for empty values"},
	"invalidParameter.robotCode.notExsit":       {"机器人不存在，请确认机器人已安装在该会话中", "the bot does not exist: check that it is installed in the chat"},
	"miss.chatbotId":                            {"缺少机器人编码 robotCode", "the robotCode is missing"},
	"invalidParameter.processQueryKey.missing":  {"缺少要撤回的消息 ID（processQueryKey）", "no message IDs (processQueryKey) were given"},
	"invalid.processQueryKey":                   {"消息 ID（processQueryKey）无效", "a message ID (processQueryKey) is not valid"},
	"miss.openConversationId":                   {"缺少会话 ID（openConversationId）", "the chat ID (openConversationId) is missing"},
	"bot.stopped":                               {"机器人已被停用", "the bot has been disabled"},
	"template.not.existed":                      {"机器人模板不存在", "the bot template does not exist"},
	"template.stopped":                          {"机器人模板已被停用", "the bot template has been disabled"},
	"unauthorized":                              {"没有权限执行此操作", "not authorized: the operation is not allowed"},
	"resource.not.found":                        {"机器人不存在", "the bot does not exist"},
	"system.error":                              {"钉钉系统错误，请稍后重试", "DingTalk had an unknown system error: try again later"},
	// Authentication, permissions and limits.
	"InvalidAuthentication":                              {"访问令牌无效或已过期", "the access token is invalid or expired"},
	"AuthenticationFailed.MissingParameter":              {"请求缺少访问令牌", "the request carried no access token"},
	"invalidClientIdOrSecret":                            {"应用的 clientId 或 clientSecret 不正确", "the app's clientId or clientSecret is wrong"},
	"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi":     {"调用太频繁，触发了钉钉的限流（每个接口每秒 20 次）", "too many calls: DingTalk's limit of 20 calls per second per API was hit"},
	"Forbidden.AccessDenied.QpsLimitForApi":              {"该接口全局调用太频繁，请稍后重试", "DingTalk is limiting this API for everyone: try again later"},
	"Forbidden.AccessDenied.AccessTokenPermissionDenied": {"应用缺少所需权限（如 qyapi_robot_sendmsg）", "the app lacks a permission it needs (such as qyapi_robot_sendmsg)"},
	"Forbidden.AccessDenied.IpNotInWhiteList":            {"本机 IP 不在应用的白名单中", "this machine's IP address is not on the app's allowlist"},
	"Forbidden.AccessDenied.ApiCountLimitForOrg":         {"本月接口调用次数已用完", "the organisation's monthly API quota is used up"},
	// Sends.
	"invalidParameter.robotCode.empty":   {"缺少机器人编码 robotCode", "the robotCode is missing"},
	"invalidParameter.robotCode.auth":    {"该应用无权使用这个机器人", "this app may not use that bot"},
	"invalidParameter.robotCode.coolApp": {"酷应用编码无效或与机器人不匹配", "the cool app code is invalid or does not match the bot"},
	"invalidParameter.msgKey.empty":      {"缺少消息模板 msgKey", "the message template (msgKey) is missing"},
	"invalidParameter.msgKey.invalid":    {"消息模板 msgKey 无效", "the message template (msgKey) is not valid"},
	"invalidParameter.msgParam.invalid":  {"消息内容 msgParam 无效（必须是 JSON，群消息不超过 15000 字节）", "the message content (msgParam) is not valid: it must be JSON, at most 15,000 bytes in groups"},
	"invalidParameter.userIds.empty":     {"没有指定接收人", "no recipient was given"},
	"invalidParameter.userIds.overMax":   {"接收人太多，一次最多 20 人", "too many recipients: at most 20 per call"},
	"chatbotId.notAllow.sendOTO":         {"机器人已停用或未启用，无法单聊发送", "the bot is disabled or not enabled for one-to-one messages"},
	"staffId.notExisted":                 {"接收人不存在", "the recipient does not exist"},
	"resource.unavailable":               {"机器人已停用或酷应用未安装", "the bot is disabled or the cool app is not installed"},
	"group.disbanded":                    {"群已解散", "the group has been disbanded"},
	"send.too.fast":                      {"发送太频繁", "messages are being sent too fast"},
	"malformedResponse":                  {"钉钉返回了无法识别的内容", "DingTalk answered with something that could not be read"},
	// Per-key recall reasons (failedResult).
	"SYSTEM_ERROR":     {"钉钉系统错误", "a DingTalk system error"},
	"system error":     {"钉钉系统错误", "a DingTalk system error"},
	"NOT_FOUND":        {"钉钉找不到这条消息", "DingTalk does not know this message"},
	"EXPIRED":          {"超过 24 小时，无法撤回", "older than 24 hours: it can no longer be recalled"},
	"ALREADY_RECALLED": {"已经撤回过", "it was already recalled"},
	// Query APIs.
	"processQueryKey.expireTime":        {"消息查询数据尚未生成或已过期（超过 24 小时）", "DingTalk has no query data for this message yet, or it is older than 24 hours"},
	"invalidParameter.pageSize.invalid": {"每页最多查询 200 人", "at most 200 readers per page"},
	"invalidParameter.cursor.invalid":   {"分页标记无效", "the page token is not valid"},
	"openConversationId.notExisted":     {"请求既没有会话 ID（openConversationId）也没有 token，二者不能同时为空", "neither a chat ID (openConversationId) nor a token was given: one of them is required"},
	"invalidParameter.invalid":          {"token 对应的机器人不存在", "no bot belongs to the token given"},
}

// Explain says what a code means, in "zh" or "en". Unknown codes are
// returned as they are, so nothing is hidden.
func Explain(code, locale string) string {
	s, ok := sentences[code]
	if !ok {
		if locale == "en" {
			return "DingTalk said " + code
		}
		return "钉钉返回 " + code
	}
	if locale == "en" {
		return s.en
	}
	return s.zh
}

// Describe is err in words an admin understands, in "zh" or "en". It
// never includes a token or a secret: those never enter an error.
func Describe(err error, locale string) string {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Code == "" {
			if locale == "en" {
				return fmt.Sprintf("DingTalk answered HTTP %d with something unexpected", ae.Status)
			}
			return fmt.Sprintf("钉钉返回了 HTTP %d 的异常内容", ae.Status)
		}
		return Explain(ae.Code, locale)
	}
	var te *TransportError
	if errors.As(err, &te) {
		if locale == "en" {
			return "DingTalk did not answer"
		}
		return "钉钉没有应答"
	}
	if NotSent(err) {
		if locale == "en" {
			return "DingTalk could not be reached; nothing was sent"
		}
		return "无法连接钉钉，消息未发送"
	}
	var re *RecipientError
	if errors.As(err, &re) {
		return re.describe(locale)
	}
	if locale == "en" {
		return "an internal error"
	}
	return "内部错误"
}
