package dingtalktest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// consoleView is everything the console's templates show.
type consoleView struct {
	URL    string
	Now    time.Time
	Offset time.Duration
	QPS    int
	Chats  []chatItem
	// Query is the chat search (?q=): chats whose id or title holds it.
	Query string
	// ChatsMatched is how many chats the search matched (all of them
	// without one), ChatsTotal how many there are; Chats lists at most
	// consoleChats of them.
	ChatsMatched, ChatsTotal int
	Chat                     *chatView // nil: no chat yet, or Missing
	Missing                  string    // a ?chat= that names no chat (yet)
	Users                    []string
	Speaker                  string // the composer's sender by default
	Calls                    []callRow
	Total                    int // calls ever recorded
	Stats                    StreamStats
	Conns                    []connRow
	Frames                   []FrameEvent // newest first
	Armed                    []ArmedFault
	Robots                   []robotRow
	APIs                     []apiPath
	States                   []RobotState
}

type chatItem struct {
	ID, Title string
	Kind      Kind
	Count     int
	Last      string
	LastAt    time.Time
	Selected  bool
}

type chatView struct {
	Conversation
	Title   string
	Shown   []msgView
	Omitted int
}

type msgView struct {
	Message
	Bot      bool
	Name     string   // who sent it, as the chat shows it
	Heading  string   // a markdown message's title
	Body     string   // the text; for markdown without its title
	Lines    []mdLine // markdown, read
	Avatar   string
	ReadPath string // "" for user messages
	FailBody string // the control API body that fails its next recall
	Reader   string // who "mark read" names by default
	OnlyUser bool   // an oto message: only Reader can read it
	Frame    string // a user message's frame: pushed, ACKed, …
	FrameBad bool
	Card     *cardView // an interactive card, as DingTalk draws it
}

// cardView is a card as the console draws it: a coloured header, then
// markdown read as for messages, dividers and link buttons.
type cardView struct {
	Title, Color string
	Blocks       []cardBlockView
}

type cardBlockView struct {
	Kind    string
	Lines   []mdLine
	Buttons []CardButton
}

// cardViewOf reads a card for the console. The header's colour token
// (common_red1_color, common_green1_color, …) becomes a class.
func cardViewOf(c *Card) *cardView {
	v := &cardView{Title: c.Title, Color: "neutral"}
	for _, tone := range []string{"red", "orange", "yellow", "green", "blue", "grey", "gray"} {
		if strings.Contains(c.Color, tone) {
			v.Color = tone
			break
		}
	}
	for _, b := range c.Blocks {
		bv := cardBlockView{Kind: b.Kind, Buttons: b.Buttons}
		if b.Text != "" {
			bv.Lines = markdownLines(b.Text)
		}
		v.Blocks = append(v.Blocks, bv)
	}
	return v
}

type callRow struct {
	Call
	Seq    int
	Name   string // the path without /v1.0/robot/
	Count  string // keys or userIds in the request
	Detail string // what the answer says, in short
	Class  string // ok, refused, failed, late, hang
}

type connRow struct {
	ConnInfo
	Actions []connAction
}

type connAction struct{ Name, Path string }

type robotRow struct {
	Code  string
	State RobotState
	Path  string
}

type apiPath struct{ Path, Name string }

var consoleAPIs = []string{PathPrivateSend, PathOTOSend, PathGroupSend, PathPrivateRecall, PathOTORecall, PathGroupRecall,
	PathPrivateQuery, PathOTOQuery, PathGroupQuery, PathCardSend, PathCardUpdate, PathAccessToken, PathGatewayOpen}

func apiName(path string) string {
	return strings.TrimPrefix(strings.TrimPrefix(path, "/v1.0/robot/"), "/v1.0/")
}

// chatTitleLocked is how the console names a chat: its title, or for a
// one-to-one chat the person's nick (their staffId until a message of theirs
// carried one) and the bot.
func (s *Server) chatTitleLocked(c *Conversation) string {
	switch {
	case c.Title != "":
		return c.Title
	case c.Kind == KindOTO:
		return s.nameLocked(c.UserID) + " ↔ bot"
	}
	return c.ID
}

// nameLocked is a user's nick as their messages carried it, else their
// staffId.
func (s *Server) nameLocked(userID string) string {
	if n := s.nicks[userID]; n != "" {
		return n
	}
	return userID
}

// consoleView gathers the page for chat (the most recently active chat if
// chat is ""), its chat list narrowed to those matching q.
func (s *Server) consoleView(chat, q string) consoleView {
	v := consoleView{URL: s.url, Query: q, States: []RobotState{RobotActive, RobotStopped, RobotTemplateMissing, RobotTemplateStopped, RobotUnauthorized, RobotDeleted}}
	for _, p := range consoleAPIs {
		v.APIs = append(v.APIs, apiPath{p, apiName(p)})
	}
	v.Armed = s.ArmedFaults()
	v.Frames = s.frameEvents(consoleFrames)
	slices.Reverse(v.Frames)

	s.mu.Lock()
	defer s.mu.Unlock()
	v.Offset = s.offset
	v.Now = s.opts.Now().Add(s.offset)
	v.QPS = s.opts.QPS
	v.Stats = s.stream.stats
	for _, id := range s.stream.order {
		c := s.stream.conns[id]
		row := connRow{ConnInfo: ConnInfo{ID: c.id, ClientID: c.app.ClientID, Zombie: c.zombie, Draining: c.draining}}
		for _, a := range []string{"disconnect", "zombie", "kill", "ping"} {
			row.Actions = append(row.Actions, connAction{a, "/sim/v1/connections/" + url.PathEscape(c.id) + "/" + a})
		}
		v.Conns = append(v.Conns, row)
	}
	for code, r := range s.robots {
		v.Robots = append(v.Robots, robotRow{code, r.state, "/sim/v1/robots/" + url.PathEscape(code) + "/state"})
	}
	slices.SortFunc(v.Robots, func(a, b robotRow) int { return cmp.Compare(a.Code, b.Code) })

	// The chats, most recently active first; who speaks in them.
	users := map[string]bool{}
	var lastSpeaker string
	var lastSpoke time.Time
	for _, c := range s.convs {
		it := chatItem{ID: c.ID, Title: s.chatTitleLocked(&c.Conversation), Kind: c.Kind, Count: len(c.msgs)}
		if c.UserID != "" {
			users[c.UserID] = true
		}
		for _, m := range c.msgs {
			if !m.FromBot() {
				users[m.Sender] = true
				if !m.SentAt.Before(lastSpoke) {
					lastSpeaker, lastSpoke = m.Sender, m.SentAt
				}
			}
		}
		if n := len(c.msgs); n > 0 {
			m := c.msgs[n-1]
			it.LastAt = m.SentAt
			it.Last = shorten(firstLine(m.Text), 40)
			if m.Recalled { // as the chat shows it: "X recalled a message"
				who := "the bot"
				if !m.FromBot() {
					who = s.nameLocked(m.Sender)
				}
				it.Last = who + " recalled a message"
			}
		}
		v.Chats = append(v.Chats, it)
	}
	slices.SortFunc(v.Chats, func(a, b chatItem) int {
		if c := b.LastAt.Compare(a.LastAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for u := range users {
		v.Users = append(v.Users, u)
	}
	v.ChatsTotal = len(v.Chats)
	if q != "" {
		v.Chats = slices.DeleteFunc(v.Chats, func(it chatItem) bool { return !chatMatches(it, q) && it.ID != chat })
	}
	v.ChatsMatched = len(v.Chats)
	slices.Sort(v.Users)
	v.Speaker = lastSpeaker

	if chat == "" && len(v.Chats) > 0 {
		chat = v.Chats[0].ID
	}
	if c, ok := s.convs[chat]; ok {
		v.Chat = s.chatViewLocked(c, lastSpeaker)
		if c.Kind == KindOTO {
			v.Speaker = c.UserID
		} else if sp := lastUser(c.msgs); sp != "" {
			v.Speaker = sp
		}
	} else {
		v.Missing = chat
	}
	for i := range v.Chats {
		v.Chats[i].Selected = v.Chats[i].ID == chat
	}
	if len(v.Chats) > consoleChats {
		keep := v.Chats[:consoleChats]
		for _, it := range v.Chats[consoleChats:] {
			if it.Selected {
				keep = append(keep, it)
			}
		}
		v.Chats = keep
	}

	// The last calls, newest first.
	v.Total = s.callSeq
	first := max(0, len(s.calls)-consoleCalls)
	for i := len(s.calls) - 1; i >= first; i-- {
		v.Calls = append(v.Calls, callRowOf(s.calls[i], s.callSeq-(len(s.calls)-1-i)))
	}
	return v
}

func (s *Server) chatViewLocked(c *conversation, speaker string) *chatView {
	cv := &chatView{Conversation: c.snapshotTail(consoleMessages), Title: s.chatTitleLocked(&c.Conversation)}
	cv.Omitted = len(c.msgs) - len(cv.Messages)
	reader := speaker
	if sp := lastUser(c.msgs); sp != "" {
		reader = sp
	}
	for _, m := range cv.Messages {
		mv := msgView{Message: m, Bot: m.FromBot(), Name: s.nameLocked(m.Sender), Body: m.Text, Avatar: avatar(m.Sender)}
		if mv.Bot {
			mv.Name = strings.TrimPrefix(m.Sender, "bot:")
			mv.Avatar = "bot"
			if m.MsgKey != "sampleText" {
				if h, b, ok := strings.Cut(m.Text, "\n"); ok {
					mv.Heading, mv.Body = h, b
				}
			}
			if m.MsgKey == "sampleMarkdown" {
				mv.Lines = markdownLines(mv.Body)
			}
			if m.Card != nil {
				mv.Card = cardViewOf(m.Card)
			}
			mv.ReadPath = "/sim/v1/reads"
			fail, _ := json.Marshal(map[string]any{"processQueryKey": m.ProcessQueryKey, "reason": "SYSTEM_ERROR", "count": 1})
			mv.FailBody = string(fail)
			mv.Reader = reader
			if c.Kind == KindOTO {
				mv.Reader, mv.OnlyUser = c.UserID, true
			}
		} else {
			mv.Frame, mv.FrameBad = s.frameFateLocked(c.Kind, m.MsgID)
		}
		cv.Shown = append(cv.Shown, mv)
	}
	return cv
}

// snapshotTail is snapshot with only the last n messages.
func (c *conversation) snapshotTail(n int) Conversation {
	out := c.Conversation
	msgs := c.msgs[max(0, len(c.msgs)-n):]
	out.Messages = make([]Message, len(msgs))
	for i, m := range msgs {
		out.Messages[i] = *m
		out.Messages[i].ReadBy = append([]Read(nil), m.ReadBy...)
	}
	return out
}

// frameFateLocked says in words what became of a user message's frame.
func (s *Server) frameFateLocked(kind Kind, msgID string) (string, bool) {
	d, ok := s.stream.byMsgID[msgID]
	if !ok {
		if kind == KindGroup {
			return "not pushed: the bot was not @-mentioned", false
		}
		return "not pushed", false
	}
	_, pending := s.stream.pending[d.messageID]
	for _, u := range s.stream.undelivered {
		pending = pending || u == d
	}
	switch {
	case d.acks > 0 && d.attempts > 1:
		return fmt.Sprintf("ACKed after %d pushes", d.attempts), false
	case d.acks > 0:
		return "pushed, ACKed", false
	case pending && d.attempts == 0:
		return "queued: no Stream connection", true
	case pending:
		return fmt.Sprintf("pushed ×%d, waiting for the ACK", d.attempts), true
	}
	return fmt.Sprintf("lost after %d pushes", d.attempts), true
}

func lastUser(msgs []*Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if !msgs[i].FromBot() {
			return msgs[i].Sender
		}
	}
	return ""
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// callRowOf reads what the console shows of a call from its bodies.
func callRowOf(c Call, seq int) callRow {
	row := callRow{Call: c, Seq: seq, Name: apiName(c.Path)}
	var req struct {
		Keys    []string `json:"processQueryKeys"`
		UserIDs []string `json:"userIds"`
		Key     string   `json:"processQueryKey"`
	}
	_ = json.Unmarshal([]byte(c.Request), &req)
	switch {
	case req.Keys != nil:
		row.Count = plural(len(req.Keys), "key")
	case req.UserIDs != nil:
		row.Count = plural(len(req.UserIDs), "user")
	case req.Key != "":
		row.Count = "1 key"
	}
	var resp struct {
		Key     string            `json:"processQueryKey"`
		Success []string          `json:"successResult"`
		Failed  map[string]string `json:"failedResult"`
		Invalid []string          `json:"invalidStaffIdList"`
		Flow    []string          `json:"flowControlledStaffIdList"`
		Filter  []string          `json:"filteredStaffIdList"`
		Status  string            `json:"sendStatus"`
	}
	if c.Status == 200 && json.Unmarshal([]byte(c.Response), &resp) == nil {
		var parts []string
		if resp.Key != "" {
			parts = append(parts, "key "+shorten(resp.Key, 10))
		}
		if resp.Success != nil || resp.Failed != nil {
			parts = append(parts, fmt.Sprintf("%d recalled, %d failed", len(resp.Success), len(resp.Failed)))
		}
		if len(resp.Invalid) > 0 {
			parts = append(parts, plural(len(resp.Invalid), "invalid user"))
		}
		if len(resp.Flow) > 0 {
			parts = append(parts, plural(len(resp.Flow), "flow-controlled user"))
		}
		if len(resp.Filter) > 0 {
			parts = append(parts, plural(len(resp.Filter), "filtered user"))
		}
		if resp.Status != "" {
			parts = append(parts, resp.Status)
		}
		row.Detail = strings.Join(parts, " · ")
	}
	switch {
	case c.Code == "late":
		row.Class = "late"
	case c.Status == 0:
		row.Class = "hang"
	case c.Status < 300:
		row.Class = "ok"
	case c.Status < 500:
		row.Class = "refused"
	default:
		row.Class = "failed"
	}
	return row
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// avatar is the two characters a user's round avatar shows.
func avatar(name string) string {
	r := []rune(name)
	return string(r[:min(2, len(r))])
}

// mdLine is one line of a markdown message as the console shows it:
// DingTalk's markdown, read for headings, list items and bold only.
type mdLine struct {
	Kind  string // "p", "li", "h" or "gap" (an empty line)
	Parts []mdPart
}

type mdPart struct {
	Text string
	Bold bool
}

func markdownLines(text string) []mdLine {
	var out []mdLine
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, " ")
		line := mdLine{Kind: "p"}
		switch {
		case l == "":
			out = append(out, mdLine{Kind: "gap"})
			continue
		case strings.HasPrefix(l, "- "), strings.HasPrefix(l, "* "):
			line.Kind, l = "li", l[2:]
		case strings.HasPrefix(l, "#"):
			line.Kind, l = "h", strings.TrimLeft(l, "# ")
		}
		segs := strings.Split(l, "**")
		if len(segs)%2 == 0 { // an unpaired **: not bold at all
			segs = []string{l}
		}
		for i, seg := range segs {
			if seg != "" {
				line.Parts = append(line.Parts, mdPart{Text: seg, Bold: i%2 == 1})
			}
		}
		out = append(out, line)
	}
	return out
}

// chatMatches reports whether a chat's id or title holds q, ignoring case.
func chatMatches(it chatItem, q string) bool {
	q = strings.ToLower(q)
	return strings.Contains(strings.ToLower(it.ID), q) || strings.Contains(strings.ToLower(it.Title), q)
}
