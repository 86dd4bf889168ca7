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
const codecVersion = 1

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

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return time.Time{}
	}
	d.b = d.b[n:]
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}

func decodeEntry(b []byte) (Entry, error) {
	if len(b) == 0 || b[0] != codecVersion {
		return Entry{}, errCorrupt
	}
	d := &decoder{b: b[1:]}
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
	return e, d.err
}

func be64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}
