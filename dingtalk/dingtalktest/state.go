package dingtalktest

import (
	"fmt"
	"slices"
	"time"
)

// App is a DingTalk app: Stream credentials plus its bot.
type App struct {
	ClientID     string
	ClientSecret string
	RobotCode    string
	CoolAppCode  string
}

type app struct {
	App
	appID string // headers.appId on frames
}

// RobotState is the state of a bot on the platform. Each non-active state
// makes the recall APIs answer the matching error code of the batchRecall error table.
type RobotState string

// Robot states and the error code each produces.
const (
	RobotActive          RobotState = "active"
	RobotStopped         RobotState = "stopped"          // 400 bot.stopped
	RobotTemplateMissing RobotState = "template_missing" // 400 template.not.existed
	RobotTemplateStopped RobotState = "template_stopped" // 400 template.stopped
	RobotUnauthorized    RobotState = "unauthorized"     // 400 unauthorized
	RobotDeleted         RobotState = "deleted"          // 400 resource.not.found
)

type robot struct {
	code  string
	app   *app
	state RobotState
}

type token struct {
	value   string
	app     *app
	expires time.Time
}

// Kind is the kind of a conversation, matching the three API families.
type Kind string

// Conversation kinds.
const (
	KindOTO     Kind = "oto"     // a user's 1:1 chat with the bot (oToMessages)
	KindPrivate Kind = "private" // a person-to-person chat with the bot's cool app (privateChatMessages)
	KindGroup   Kind = "group"   // a group chat (groupMessages)
)

// Conversation is a chat as its members see it.
type Conversation struct {
	ID        string `json:"conversationId"`
	Kind      Kind   `json:"kind"`
	Title     string `json:"title,omitempty"`
	UserID    string `json:"userId,omitempty"` // for KindOTO: the user chatting with the bot
	BotAbsent bool   `json:"botAbsent,omitempty"`
	// CoolAppCode, for a group the bot was installed in through a group
	// cool app, is the code groupMessages/send must carry there
	// (RequireGroupCoolApp).
	CoolAppCode string    `json:"coolAppCode,omitempty"`
	Messages    []Message `json:"messages"`
}

// Message is one message in a conversation, from the bot or from a user.
type Message struct {
	ProcessQueryKey string    `json:"processQueryKey,omitempty"` // bot messages only
	MsgID           string    `json:"msgId,omitempty"`           // user messages only
	Sender          string    `json:"sender"`                    // a staffId, or "bot:" + robotCode
	MsgKey          string    `json:"msgKey,omitempty"`
	Text            string    `json:"text"`
	SentAt          time.Time `json:"sentAt"`
	Recalled        bool      `json:"recalled"`
	RecalledAt      time.Time `json:"recalledAt,omitzero"`
	// ReadBy lists who has read a bot message, in the order they read it
	// (MarkRead); the query APIs report it.
	ReadBy []Read `json:"readBy,omitempty"`
	// Card is an interactive card's content as shown now; Updates counts
	// its updates in place, the last at UpdatedAt.
	Card      *Card     `json:"card,omitempty"`
	Updates   int       `json:"updates,omitempty"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Read is one user having read a message.
type Read struct {
	UserID string    `json:"userId"`
	At     time.Time `json:"at"`
}

// FromBot reports whether the bot sent m.
func (m Message) FromBot() bool { return len(m.Sender) > 4 && m.Sender[:4] == "bot:" }

type conversation struct {
	Conversation
	msgs []*Message
}

// keyRecord is what one processQueryKey sent: one message, or for
// oToMessages/batchSend one message per recipient.
type keyRecord struct {
	family Kind
	robot  string
	convs  []string // conversation of each message, parallel to msgs
	msgs   []*Message
	sentAt time.Time
}

type userDirectory struct {
	invalid        map[string]bool
	filtered       map[string]bool
	flowControlled map[string]int // remaining count
}

func (u *userDirectory) init() {
	u.invalid = map[string]bool{}
	u.filtered = map[string]bool{}
	u.flowControlled = map[string]int{}
}

// AddApp registers another app (another robot). Its robot is active.
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ap := &app{App: a, appID: uuid()}
	s.apps[a.ClientID] = ap
	if a.RobotCode != "" {
		s.robots[a.RobotCode] = &robot{code: a.RobotCode, app: ap, state: RobotActive}
	}
	s.notifyLocked()
}

// SetRobotState changes a robot's state, e.g. RobotStopped.
func (s *Server) SetRobotState(robotCode string, st RobotState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.robots[robotCode]
	if !ok {
		return fmt.Errorf("emulator: unknown robot %q", robotCode)
	}
	r.state = st
	s.notifyLocked()
	return nil
}

// AddConversation registers a private (person-to-person) or group chat so
// that the bot can send into it. 1:1 chats with the bot need no registration:
// they exist for every user.
func (s *Server) AddConversation(id string, kind Kind, title string) error {
	if id == "" {
		return fmt.Errorf("emulator: empty conversation id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.convs[id]; ok {
		if c.Kind != kind {
			return fmt.Errorf("emulator: conversation %q is already a %s chat", id, c.Kind)
		}
		return nil
	}
	switch kind {
	case KindPrivate, KindGroup:
	default:
		return fmt.Errorf("emulator: AddConversation takes %q or %q, not %q", KindPrivate, KindGroup, kind)
	}
	s.convs[id] = &conversation{Conversation: Conversation{ID: id, Kind: kind, Title: title}}
	s.notifyLocked()
	return nil
}

// RemoveBotFromConversation makes the bot absent from a chat, so that
// recalls there answer invalidParameter.robotCode.
func (s *Server) RemoveBotFromConversation(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[id]
	if !ok {
		return fmt.Errorf("emulator: unknown conversation %q", id)
	}
	c.BotAbsent = true
	s.notifyLocked()
	return nil
}

// SetInvalidUser makes a staffId unknown to the org: batchSend reports it in
// invalidStaffIdList.
func (s *Server) SetInvalidUser(userID string) {
	s.mu.Lock()
	s.users.invalid[userID] = true
	s.mu.Unlock()
}

// FilterUser makes batchSend report userID in filteredStaffIdList from
// now on, delivering nothing to them. DingTalk does not document when it
// filters a recipient; the field is in its SDK's answer since 2026.
func (s *Server) FilterUser(userID string) {
	s.mu.Lock()
	s.users.filtered[userID] = true
	s.mu.Unlock()
}

// RequireGroupCoolApp makes a group one the bot was installed in through a
// group cool app: groupMessages/send there must carry coolAppCode code,
// else 400 invalidParameter.robotCode.coolApp (the code is inferred).
func (s *Server) RequireGroupCoolApp(conversationID, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[conversationID]
	if !ok || c.Kind != KindGroup {
		return fmt.Errorf("emulator: %q is not a group", conversationID)
	}
	c.CoolAppCode = code
	s.notifyLocked()
	return nil
}

// FlowControlUser makes the next n batchSend deliveries to userID report it
// in flowControlledStaffIdList instead of delivering.
func (s *Server) FlowControlUser(userID string, n int) {
	s.mu.Lock()
	s.users.flowControlled[userID] = n
	s.mu.Unlock()
}

// otoConversationLocked returns the user's 1:1 chat with the bot, creating it.
func (s *Server) otoConversationLocked(userID string) *conversation {
	if id, ok := s.otoCID[userID]; ok {
		return s.convs[id]
	}
	id := "cidoto" + randomID(10) + "=="
	c := &conversation{Conversation: Conversation{ID: id, Kind: KindOTO, UserID: userID}}
	s.convs[id] = c
	s.otoCID[userID] = id
	return c
}

// Conversation returns a snapshot of a chat as its members see it.
func (s *Server) Conversation(id string) (Conversation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[id]
	if !ok {
		return Conversation{}, false
	}
	return c.snapshot(), true
}

// UserConversation returns the user's 1:1 chat with the bot.
func (s *Server) UserConversation(userID string) (Conversation, bool) {
	s.mu.Lock()
	id, ok := s.otoCID[userID]
	s.mu.Unlock()
	if !ok {
		return Conversation{}, false
	}
	return s.Conversation(id)
}

// Conversations returns a snapshot of every chat, sorted by id.
func (s *Server) Conversations() []Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Conversation, 0, len(s.convs))
	for _, c := range s.convs {
		out = append(out, c.snapshot())
	}
	slices.SortFunc(out, func(a, b Conversation) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

// BotMessages returns every message the bot sent, in every chat.
func (s *Server) BotMessages() []Message {
	var out []Message
	for _, c := range s.Conversations() {
		for _, m := range c.Messages {
			if m.FromBot() {
				out = append(out, m)
			}
		}
	}
	return out
}

func (c *conversation) snapshot() Conversation {
	out := c.Conversation
	out.Messages = make([]Message, len(c.msgs))
	for i, m := range c.msgs {
		out.Messages[i] = *m
		out.Messages[i].ReadBy = append([]Read(nil), m.ReadBy...)
	}
	return out
}

// Message looks up the bot message sent with a processQueryKey (for a
// batchSend key, its first recipient's copy).
func (s *Server) Message(processQueryKey string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[processQueryKey]
	if !ok || len(k.msgs) == 0 {
		return Message{}, false
	}
	m := *k.msgs[0]
	m.ReadBy = append([]Read(nil), m.ReadBy...)
	return m, true
}

// AgeMessage moves a bot message's send time back by d, e.g. to put it past
// the recall window while leaving the others recallable.
func (s *Server) AgeMessage(processQueryKey string, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[processQueryKey]
	if !ok {
		return fmt.Errorf("emulator: unknown processQueryKey %q", processQueryKey)
	}
	k.sentAt = k.sentAt.Add(-d)
	for _, m := range k.msgs {
		m.SentAt = m.SentAt.Add(-d)
	}
	s.notifyLocked()
	return nil
}
