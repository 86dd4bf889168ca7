package ledger

import (
	"encoding/binary"
	"errors"
	"time"
)

// The entry codec: a version byte, then every field in a fixed order,
// strings as uvarint length + bytes, times as varint Unix nanoseconds (0 for
// the zero time). Both stores use it; it decodes 20 entries in a few
// microseconds, which "last 20" depends on.
//
// Version 2 appends ClaimedBy, DueAt and the recipients of a packed oto
// key, then, for an alert's message only, its alert group. Version 1
// entries still decode: their due time was their expiry.
const (
	codecV1      = 1
	codecVersion = 2
)

func encodeEntry(e Entry) []byte {
	b := make([]byte, 0, 96+len(e.Chat.ConversationID)+len(e.Chat.UserID)+len(e.ProcessQueryKey)+len(e.Excerpt)+len(e.ContentHash)+len(e.Reason)+len(e.Actor)+len(e.BatchID))
	b = append(b, codecVersion)
	b = binary.AppendUvarint(b, e.ID)
	for _, s := range []string{string(e.Chat.Family), e.Chat.ConversationID, e.Chat.UserID, e.ProcessQueryKey, e.MsgKey, e.Excerpt, e.ContentHash} {
		b = appendString(b, s)
	}
	b = appendTime(b, e.SentAt)
	for _, s := range []string{string(e.Origin), e.Actor, e.BatchID} {
		b = appendString(b, s)
	}
	b = appendTime(b, e.ExpiresAt)
	b = appendString(b, string(e.State))
	b = appendString(b, e.Reason)
	b = appendTime(b, e.UpdatedAt)
	b = binary.AppendUvarint(b, e.Supersedes)
	b = binary.AppendUvarint(b, e.SupersededBy)
	b = appendString(b, e.ClaimedBy)
	b = appendTime(b, e.DueAt)
	b = binary.AppendUvarint(b, uint64(len(e.Recipients)))
	for _, r := range e.Recipients {
		b = appendString(b, r)
	}
	if e.Alert != "" { // later still, and only when set: older readers keep reading every other entry
		b = appendString(b, e.Alert)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

var errCorrupt = errors.New("ledger: corrupt entry")

// decoder reads an encoded entry. It works on one string copy of the
// value, so every string field shares that one allocation.
type decoder struct {
	s   string
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			d.s = d.s[i+1:]
			return v
		}
	}
	d.err = errCorrupt
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.s)) {
		d.err = errCorrupt
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

func (d *decoder) time() time.Time {
	v := d.varint()
	if d.err != nil || v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}

func decodeEntry(b []byte) (Entry, error) {
	if len(b) == 0 || (b[0] != codecVersion && b[0] != codecV1) {
		return Entry{}, errCorrupt
	}
	d := &decoder{s: string(b[1:])}
	var e Entry
	e.ID = d.uvarint()
	e.Chat.Family = Family(d.string())
	e.Chat.ConversationID = d.string()
	e.Chat.UserID = d.string()
	e.ProcessQueryKey = d.string()
	e.MsgKey = d.string()
	e.Excerpt = d.string()
	e.ContentHash = d.string()
	e.SentAt = d.time()
	e.Origin = Origin(d.string())
	e.Actor = d.string()
	e.BatchID = d.string()
	e.ExpiresAt = d.time()
	e.State = State(d.string())
	e.Reason = d.string()
	e.UpdatedAt = d.time()
	e.Supersedes = d.uvarint()
	e.SupersededBy = d.uvarint()
	if b[0] == codecV1 {
		if e.State.Recallable() || e.State == Recalling {
			e.DueAt = e.ExpiresAt
		}
	} else {
		e.ClaimedBy = d.string()
		e.DueAt = d.time()
		// Recipients came later in version 2: an entry that ends here
		// (written before them) has none.
		if len(d.s) == 0 {
			// nothing more
		} else if n := d.uvarint(); n > 0 && n <= maxRecipients {
			e.Recipients = make([]string, n)
			for i := range e.Recipients {
				e.Recipients[i] = d.string()
			}
		} else if n > maxRecipients {
			d.err = errCorrupt
		}
		if d.err == nil && len(d.s) > 0 {
			e.Alert = d.string()
		}
	}
	if d.err == nil && len(d.s) != 0 {
		d.err = errCorrupt
	}
	return e, d.err
}

func be64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}
