package ledger

import "testing"

// TestEntryCodecKeepsTheAlertGroup: an entry's alert group survives the
// codec, and an entry without one stays as small as before.
func TestEntryCodecKeepsTheAlertGroup(t *testing.T) {
	e := Entry{ID: 7, Chat: chatB, MsgKey: "StandardCard", State: Sent, Alert: "a1b2c3d4"}
	got, err := decodeEntry(encodeEntry(e))
	if err != nil || got.Alert != "a1b2c3d4" {
		t.Errorf("round trip = %+v, %v", got, err)
	}
	e.Alert = ""
	plain := encodeEntry(e)
	if got, err := decodeEntry(plain); err != nil || got.Alert != "" {
		t.Errorf("without a group = %+v, %v", got, err)
	}
}
