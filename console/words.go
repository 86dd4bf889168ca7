package console

import (
	"html/template"
	"strings"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// botTitle is the markdown title of the bot's own replies in chat
// (handlers send them titled with the bot's name). The ledger's excerpt
// starts with it; in the console's text column it says nothing.
const botTitle = "recallbot"

// peopleFuncs are the templates' helpers that say who did or sent
// something, in the console's locale.
func peopleFuncs(locale string) template.FuncMap {
	return template.FuncMap{
		"actor": func(a string) string { return recall.ActorWords(a, locale) },
		"from":  func(e ledger.Entry) string { return fromWords(e, locale, nil) },
		"excerpt": func(e ledger.Entry) string {
			text := recall.PlainText(e.Excerpt)
			if e.Origin == ledger.OriginCommand {
				text = strings.TrimPrefix(text, botTitle+" ")
			}
			return text
		},
	}
}

// fromWords is who a message in the ledger is from: the bot itself for
// its replies to a command, in answer to the admin who typed it (the
// entry's actor, by the nick the ledger knows from their commands when
// info knows it), else whoever had it sent (a client of the API, a rule).
func fromWords(e ledger.Entry, locale string, info func(ledger.Chat) ledger.ChatInfo) string {
	if e.Origin != ledger.OriginCommand {
		return recall.ActorWords(e.Actor, locale)
	}
	if e.Actor == "" || strings.Contains(e.Actor, ":") || recall.ActorWords(e.Actor, locale) != e.Actor {
		return say(locale, "from.bot") // a report of the bot's own, not an answer
	}
	who := e.Actor
	if info != nil {
		if i := info(ledger.Chat{Family: ledger.OTO, UserID: e.Actor}); i.With != "" {
			who = i.With
		}
	}
	return say(locale, "from.answer", who)
}
