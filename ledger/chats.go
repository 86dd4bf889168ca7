package ledger

import (
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ChatInfo is what DingTalk told the bot about a chat, so that people see
// a chat's name rather than its key: a group's title (the callback's
// conversationTitle), or the nick of the person in a one-to-one chat.
// One small record per chat, replaced when DingTalk says something new.
type ChatInfo struct {
	Chat    Chat      `json:"chat"`
	Title   string    `json:"title,omitempty"`
	With    string    `json:"with,omitempty"`
	Updated time.Time `json:"updated,omitzero"`
}

// ChatStore keeps a ChatInfo per chat.
type ChatStore interface {
	// PutChatInfo records what is known of a chat, replacing what was.
	PutChatInfo(ctx context.Context, info ChatInfo) error
	// ChatInfos returns what is known of each of chats, by Chat.Key();
	// chats it knows nothing of are not in the map.
	ChatInfos(ctx context.Context, chats []Chat) (map[string]ChatInfo, error)
}

// PutChatInfo records what is known of a chat.
func (s *Bolt) PutChatInfo(ctx context.Context, info ChatInfo) error {
	if err := info.Chat.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bChatInfo).Put([]byte(info.Chat.Key()), b) })
}

// ChatInfos returns what is known of chats.
func (s *Bolt) ChatInfos(ctx context.Context, chats []Chat) (map[string]ChatInfo, error) {
	out := map[string]ChatInfo{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bChatInfo)
		for _, c := range chats {
			v := b.Get([]byte(c.Key()))
			if v == nil {
				continue
			}
			var info ChatInfo
			if err := json.Unmarshal(v, &info); err != nil {
				return err
			}
			out[c.Key()] = info
		}
		return nil
	})
	return out, err
}

// PutChatInfo records what is known of a chat, in one hash of all chats.
func (s *Redis) PutChatInfo(ctx context.Context, info ChatInfo) error {
	if err := info.Chat.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return s.c.HSet(ctx, s.k("chatinfo"), info.Chat.Key(), b).Err()
}

// ChatInfos returns what is known of chats.
func (s *Redis) ChatInfos(ctx context.Context, chats []Chat) (map[string]ChatInfo, error) {
	out := map[string]ChatInfo{}
	if len(chats) == 0 {
		return out, nil
	}
	fields := make([]string, len(chats))
	for i, c := range chats {
		fields[i] = c.Key()
	}
	vals, err := s.c.HMGet(ctx, s.k("chatinfo"), fields...).Result()
	if err != nil {
		return nil, err
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var info ChatInfo
		if err := json.Unmarshal([]byte(str), &info); err != nil {
			return nil, err
		}
		out[fields[i]] = info
	}
	return out, nil
}
