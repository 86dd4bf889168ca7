package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Buckets of alert groups. They came after schema version 2 and are made by
// the first write that needs them, so a ledger file without them is still
// a version 2 file that older versions open.
var (
	bAlerts     = []byte("alerts")     // group id -> JSON AlertGroup
	bAlertsDue  = []byte("alertsdue")  // group id -> nil, while Due
	bAlertChats = []byte("alertchats") // chat key 0x00 group id -> nil
	bAlertsWake = []byte("alertswake") // 8-byte big-endian unix nanoseconds of Wake, group id -> nil
	bAlertKeys  = []byte("alertkeys")  // alertKeyOf(source, group key) 0x00 group id -> nil
)

// alertBuckets returns the buckets in a write transaction, making them if
// they are missing.
func alertBuckets(tx *bolt.Tx) (groups, due, chats, wake, keys *bolt.Bucket, err error) {
	for _, b := range []struct {
		name []byte
		to   **bolt.Bucket
	}{{bAlerts, &groups}, {bAlertsDue, &due}, {bAlertChats, &chats}, {bAlertsWake, &wake}, {bAlertKeys, &keys}} {
		if *b.to, err = tx.CreateBucketIfNotExists(b.name); err != nil {
			return
		}
	}
	return
}

// wakeKey is a group's place in bAlertsWake.
func wakeKey(at time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	return append(k, id...)
}

func getAlert(tx *bolt.Tx, id string) (AlertGroup, bool, error) {
	b := tx.Bucket(bAlerts)
	if b == nil {
		return AlertGroup{}, false, nil
	}
	v := b.Get([]byte(id))
	if v == nil {
		return AlertGroup{}, false, nil
	}
	var g AlertGroup
	if err := json.Unmarshal(v, &g); err != nil {
		return AlertGroup{}, false, errCorrupt
	}
	return g, true, nil
}

// mustAlert is getAlert for a group that must exist.
func mustAlert(tx *bolt.Tx, id string) (AlertGroup, error) {
	g, found, err := getAlert(tx, id)
	if err == nil && !found {
		err = &NotFoundError{"alert group " + id}
	}
	return g, err
}

// putAlertTx writes g and keeps its indexes in step.
func putAlertTx(tx *bolt.Tx, g AlertGroup) error {
	old, found, err := getAlert(tx, g.ID)
	if err != nil {
		return err
	}
	groups, due, chats, wake, keys, err := alertBuckets(tx)
	if err != nil {
		return err
	}
	v, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if err := groups.Put([]byte(g.ID), v); err != nil {
		return err
	}
	if err := chats.Put([]byte(alertChatKey(g.Chat, g.ID)), nil); err != nil {
		return err
	}
	if err := keys.Put([]byte(alertKeyOf(g.Source, g.GroupKey)+"\x00"+g.ID), nil); err != nil {
		return err
	}
	if w := old.Wake(); found && !w.IsZero() && !w.Equal(g.Wake()) {
		if err := wake.Delete(wakeKey(w, g.ID)); err != nil {
			return err
		}
	}
	if w := g.Wake(); !w.IsZero() {
		if err := wake.Put(wakeKey(w, g.ID), nil); err != nil {
			return err
		}
	}
	if g.Due() {
		return due.Put([]byte(g.ID), nil)
	}
	return due.Delete([]byte(g.ID))
}

// PutAlert records a notification.
func (s *Bolt) PutAlert(ctx context.Context, n AlertGroup) (AlertGroup, error) {
	if err := checkAlert(n); err != nil {
		return AlertGroup{}, err
	}
	var out AlertGroup
	err := s.update(func(tx *bolt.Tx) error {
		old, found, err := getAlert(tx, n.ID)
		if err != nil {
			return err
		}
		if out = putAlert(old, found, n, s.now()); out.Stale {
			return nil
		}
		return putAlertTx(tx, out)
	})
	if err != nil {
		return AlertGroup{}, fmt.Errorf("ledger alert: %w", err)
	}
	return out, nil
}

// TakeAlert makes by.Owner the group's worker unless a live owner holds it.
func (s *Bolt) TakeAlert(ctx context.Context, id string, by Claimant) (AlertGroup, bool, error) {
	var out AlertGroup
	mine := false
	err := s.update(func(tx *bolt.Tx) error {
		g, err := mustAlert(tx, id)
		if err != nil {
			return err
		}
		now := s.now()
		out, mine = g, takeAlert(g, by, func(owner string) bool { return tempAlive(tx, LeaseNS, owner, now) })
		if !mine {
			return nil
		}
		if g.Owner != by.Owner {
			out.Owner, out.Updated = by.Owner, norm(now)
			if err := putAlertTx(tx, out); err != nil {
				return err
			}
		}
		return putTemp(tx, LeaseNS, by.Owner, nil, now.Add(by.LeaseTTL))
	})
	return out, mine, err
}

// StartAlertSend writes a send ahead.
func (s *Bolt) StartAlertSend(ctx context.Context, id, owner string, send AlertSend, e Entry) (AlertGroup, Entry, error) {
	e, err := alertEntry(e, id)
	if err != nil {
		return AlertGroup{}, Entry{}, err
	}
	var out AlertGroup
	var added Entry
	err = s.update(func(tx *bolt.Tx) error {
		g, err := mustAlert(tx, id)
		if err != nil {
			return err
		}
		if added, err = appendTx(tx, e); err != nil {
			return err
		}
		send.Entry = added.ID
		if out, err = startAlertSend(g, owner, send, s.now()); err != nil {
			return err
		}
		return putAlertTx(tx, out)
	})
	if err != nil {
		return AlertGroup{}, Entry{}, err
	}
	return out, added, nil
}

// UpdateAlert changes a group, and one of its entries, in one commit.
func (s *Bolt) UpdateAlert(ctx context.Context, id, owner string, c *Change, fn func(*AlertGroup) error) (AlertGroup, error) {
	var out AlertGroup
	err := s.update(func(tx *bolt.Tx) error {
		g, err := mustAlert(tx, id)
		if err != nil {
			return err
		}
		if out, err = updateAlert(g, owner, fn, s.now()); err != nil {
			return err
		}
		if c != nil {
			old, e, changed, err := change(tx, *c)
			if err != nil {
				return err
			}
			if changed {
				if err := putChanged(tx, old, e); err != nil {
					return err
				}
			}
		}
		return putAlertTx(tx, out)
	})
	return out, err
}

// DueAlerts lists groups with work to do.
func (s *Bolt) DueAlerts(ctx context.Context, limit int) ([]AlertGroup, error) {
	var out []AlertGroup
	err := s.view(func(tx *bolt.Tx) error {
		due := tx.Bucket(bAlertsDue)
		if due == nil {
			return nil
		}
		c := due.Cursor()
		for k, _ := c.First(); k != nil && len(out) < limitOr(limit, 100); k, _ = c.Next() {
			g, found, err := getAlert(tx, string(k))
			if err != nil {
				return err
			}
			if found {
				out = append(out, g)
			}
		}
		return nil
	})
	return out, err
}

// ChatAlerts lists a chat's groups whose id starts with prefix.
func (s *Bolt) ChatAlerts(ctx context.Context, chat Chat, prefix string) ([]AlertGroup, error) {
	var out []AlertGroup
	err := s.view(func(tx *bolt.Tx) error {
		chats := tx.Bucket(bAlertChats)
		if chats == nil {
			return nil
		}
		seek := []byte(alertChatKey(chat, prefix))
		c := chats.Cursor()
		for k, _ := c.Seek(seek); k != nil && bytes.HasPrefix(k, seek) && len(out) < maxChatAlerts; k, _ = c.Next() {
			id := string(k[len(chat.Key())+1:])
			g, found, err := getAlert(tx, id)
			if err != nil {
				return err
			}
			if found {
				out = append(out, g)
			}
		}
		return nil
	})
	return out, err
}

// AlertsToWake lists groups whose Wake is at or before at.
func (s *Bolt) AlertsToWake(ctx context.Context, at time.Time, limit int) ([]AlertGroup, error) {
	var out []AlertGroup
	end := wakeKey(at, "\xff")
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAlertsWake)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, end) <= 0 && len(out) < limitOr(limit, 100); k, _ = c.Next() {
			g, found, err := getAlert(tx, string(k[8:]))
			if err != nil {
				return err
			}
			if found {
				out = append(out, g)
			}
		}
		return nil
	})
	return out, err
}

// KeyAlerts lists the groups of one source's group key, in every chat.
func (s *Bolt) KeyAlerts(ctx context.Context, source, groupKey string) ([]AlertGroup, error) {
	var out []AlertGroup
	seek := []byte(alertKeyOf(source, groupKey) + "\x00")
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAlertKeys)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.Seek(seek); k != nil && bytes.HasPrefix(k, seek) && len(out) < maxKeyAlerts; k, _ = c.Next() {
			g, found, err := getAlert(tx, string(k[len(seek):]))
			if err != nil {
				return err
			}
			if found {
				out = append(out, g)
			}
		}
		return nil
	})
	return out, err
}

// pruneAlerts deletes closed, idle groups last changed before cutoff.
func pruneAlerts(tx *bolt.Tx, cutoff time.Time) error {
	groups := tx.Bucket(bAlerts)
	if groups == nil {
		return nil
	}
	var old []AlertGroup
	err := groups.ForEach(func(k, v []byte) error {
		var g AlertGroup
		if json.Unmarshal(v, &g) == nil && g.prunable(cutoff) {
			old = append(old, g)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, g := range old {
		if err := groups.Delete([]byte(g.ID)); err != nil {
			return err
		}
		if err := tx.Bucket(bAlertChats).Delete([]byte(alertChatKey(g.Chat, g.ID))); err != nil {
			return err
		}
		if b := tx.Bucket(bAlertKeys); b != nil {
			if err := b.Delete([]byte(alertKeyOf(g.Source, g.GroupKey) + "\x00" + g.ID)); err != nil {
				return err
			}
		}
		if b := tx.Bucket(bAlertsWake); b != nil && !g.Wake().IsZero() {
			if err := b.Delete(wakeKey(g.Wake(), g.ID)); err != nil {
				return err
			}
		}
	}
	return nil
}
