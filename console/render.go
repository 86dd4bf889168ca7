package console

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// page is what every template sees: the layout's fields and the page's
// own data.
type page struct {
	Lang, Title, Nav string
	Operator, CSRF   string // "" on the login page
	Path             string // this page, to come back to after an action
	Status           *statusBar
	Notice, Error    string
	Data             any
}

type pageTemplate struct{ t *template.Template }

// pageNames are the templates, each rendered inside layout.html.
var pageNames = []string{"login", "messages", "preview", "recall", "broadcasts", "broadcast", "entries", "audit", "error"}

func parsePages(locale string) map[string]*pageTemplate {
	out := map[string]*pageTemplate{}
	for _, name := range pageNames {
		t := template.Must(template.New("layout.html").Funcs(funcs(locale)).ParseFS(assets, "templates/layout.html", "templates/"+name+".html"))
		out[name] = &pageTemplate{t}
	}
	return out
}

// render writes a page: the layout around template name, with the status
// bar for a logged-in operator. errs, if any, is shown as the page's error.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, name, title, nav string, data any, errs ...string) {
	p := page{Lang: map[string]string{"zh": "zh-CN", "en": "en"}[c.cfg.Locale], Title: title, Nav: nav, Path: r.URL.RequestURI(), Data: data}
	if s != nil {
		p.Operator, p.CSRF = s.name, s.csrf
		p.Status = c.status(r)
		if d := r.URL.Query().Get("done"); d != "" && texts["done."+d][0] != "" {
			p.Notice = c.t("done." + d)
		}
	}
	if len(errs) > 0 {
		p.Error = strings.Join(errs, "; ")
	}
	var buf bytes.Buffer
	t, err := c.pages[name].t.Clone() // this page's chats named by what DingTalk said of them
	if err == nil {
		info := c.chatInfo(r.Context())
		t.Funcs(template.FuncMap{"chat": chatNamer(c.cfg.Locale, info), "from": func(e ledger.Entry) string { return fromWords(e, c.cfg.Locale, info) }})
		err = t.Execute(&buf, p)
	}
	if err != nil {
		c.cfg.Log.Error("console: rendering", zap.String("page", name), zap.Error(err))
		http.Error(w, "the page could not be rendered; see the bot's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// renderError is render with an error shown above the page.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, s *session, status int, name, title, nav string, data any, msg string) {
	c.render(w, r, s, status, name, title, nav, data, msg)
}

// fail answers a request that could not be served: JSON for the page's
// script, an error page for a person.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	c.failCode(w, r, s, status, "", msg)
}

// failCode is fail with the code a script reads (the operator's, when it
// refused).
func (c *Console) failCode(w http.ResponseWriter, r *http.Request, s *session, status int, code, msg string) {
	if status < 400 {
		status = http.StatusBadGateway
	}
	if wantsJSON(r) {
		jsonError(w, status, code, msg)
		return
	}
	c.render(w, r, s, status, "error", c.t("err.title"), "", nil, msg)
}

func errField(err error) zap.Field { return zap.Error(err) }

func (c *Console) t(key string) string { return say(c.cfg.Locale, key) }

func (c *Console) tf(key string, args ...any) string { return say(c.cfg.Locale, key, args...) }

func (c *Console) duration(d time.Duration) string { return recall.HumanDuration(d, c.cfg.Locale) }

// funcs are the templates' helpers, in the console's locale.
func funcs(locale string) template.FuncMap {
	m := template.FuncMap{
		"t":  func(key string) string { return say(locale, key) },
		"tf": func(key string, args ...any) string { return say(locale, key, args...) },
		"ts": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Local().Format("2006-01-02 15:04:05")
		},
		"state": func(s any) string {
			k := "state." + fmt.Sprint(s)
			if texts[k][0] == "" {
				return fmt.Sprint(s)
			}
			return say(locale, k)
		},
		"outcome": func(o string) string {
			if texts["outcome."+o][0] == "" {
				return o
			}
			return say(locale, "outcome."+o)
		},
		"count":  func(o string, n int) string { return recall.CountIn(recall.Outcome(o), n, locale) },
		"chat":   chatNamer(locale, nil),
		"action": func(a string) string { return recall.ActionWords(a, locale) },
		"reason": func(r string) string { return recall.ReasonWords(r, locale) },
		"plain":  recall.PlainText,
		"pct":    percent,
		"reads":  func(r *api.Reads) string { return readsWords(r, locale) },
		"secs": func(s float64) string {
			return recall.HumanDuration(time.Duration(s*float64(time.Second)).Round(time.Second), locale)
		},
		"first": func(list []string, n int) []string { return list[:min(n, len(list))] },
		"more":  func(list []string, n int) int { return max(len(list)-n, 0) },
		"join":  strings.Join,
	}
	maps.Copy(m, peopleFuncs(locale))
	return m
}

// readsWords is who had read a message, in the reader's words (as chat
// says it).
func readsWords(r *api.Reads, locale string) string {
	return recall.Reads{SendStatus: r.SendStatus, Read: r.Read, Recipients: r.Recipients, Readers: r.Readers, Err: r.Error}.Words(locale)
}

// chatNamer is the templates' "chat": a chat (a ledger.Chat, or an api.Chat
// of an operator's answer) by its title or the person in it when info
// knows them (recall.ChatWords), else by its kind and id.
func chatNamer(locale string, info func(ledger.Chat) ledger.ChatInfo) func(any) string {
	return func(c any) string {
		var ch ledger.Chat
		switch c := c.(type) {
		case ledger.Chat:
			ch = c
		case api.Chat:
			ch = ledger.Chat{Family: ledger.Family(c.Family), ConversationID: c.ConversationID, UserID: c.UserID}
		}
		var i ledger.ChatInfo
		if info != nil {
			i = info(ch)
		}
		return recall.ChatWords(ch, i, locale) // one naming form, known or not
	}
}

// chatInfo looks up what DingTalk said of chats, once per chat and page;
// a ledger that cannot tell names them by their ids.
func (c *Console) chatInfo(ctx context.Context) func(ledger.Chat) ledger.ChatInfo {
	seen := map[string]ledger.ChatInfo{}
	return func(ch ledger.Chat) ledger.ChatInfo {
		if i, ok := seen[ch.Key()]; ok {
			return i
		}
		infos, err := c.cfg.Ledger.ChatInfos(ctx, []ledger.Chat{ch})
		if err != nil {
			c.cfg.Log.Warn("console: chat names not read", errField(err))
		}
		seen[ch.Key()] = infos[ch.Key()]
		return seen[ch.Key()]
	}
}
