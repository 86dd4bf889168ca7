package operator

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
)

// fill sets every exported field of v, recursively, to a value that is not
// zero and not like any other: a field the conversion drops then shows.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2025, 3, 1, 0, 0, *n, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), n)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, n)
		fill(e, n)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), n)
		v.Set(p)
	default:
		panic("fill: no case for " + v.Kind().String())
	}
}

func filled[T any]() T {
	var v T
	n := 0
	fill(reflect.ValueOf(&v).Elem(), &n)
	return v
}

// asJSON is v as JSON decoded into generic values, for comparing two types'
// answers.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConversionsKeepEveryField: the API's types say on the wire exactly
// what the bot's own types said when the API wrote them directly, every
// field filled: a field added to ledger.Entry (or the others) and not to
// its api twin and the conversion fails here.
func TestConversionsKeepEveryField(t *testing.T) {
	for _, c := range []struct {
		name string
		bot  func() (bot, wire any)
	}{
		{name: "entry", bot: func() (any, any) {
			e := filled[ledger.Entry]()
			w := entryOf(e, "en")
			w.Explanation = "" // the reason in words, besides the fact
			return e, w
		}},
		{name: "chat", bot: func() (any, any) { c := filled[ledger.Chat](); return c, chatOf(c) }},
		{name: "audit record", bot: func() (any, any) {
			r := filled[ledger.AuditRecord]()
			w := auditOf([]ledger.AuditRecord{r}, "en", nil)[0]
			r.Scope, r.Note = recall.AuditWords(r, "en", nil) // the facts in words, as the API says them
			return r, w
		}},
		{name: "reads", bot: func() (any, any) { r := filled[recall.Reads](); return r, readsOf(r) }},
		{name: "broadcast stop", bot: func() (any, any) {
			b := filled[recall.BroadcastStop]()
			o := New(nil, nil, nil, nil, nil, Config{})
			return b, o.receiptOf(&recall.Receipt{Broadcast: &b}).Broadcast
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			bot, wire := c.bot()
			if b, w := asJSON(t, bot), asJSON(t, wire); !reflect.DeepEqual(b, w) {
				t.Errorf("the API's %s differs from the bot's:\nbot %v\napi %v", c.name, b, w)
			}
		})
	}
	// A chat named in a request reaches the ledger whole.
	c := filled[ledger.Chat]()
	if got := ledgerChat(chatOf(c)); got != c {
		t.Errorf("ledgerChat(chatOf(%+v)) = %+v", c, got)
	}
}
