// Package jsonkeys finds a key that a JSON object gives twice. Go's
// decoder matches keys to struct fields without regard to case and lets
// the later one win, without an error: {"user_id":"a","user_id":"b"} and
// {"user_id":"a","USER_ID":"b"} both decode as "b". Whoever reads input
// that a person or another program wrote, and acts on a field that could
// be given twice, asks Repeated first and refuses such input.
package jsonkeys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// RepeatedError names a key an object gives twice, and where.
type RepeatedError struct {
	// Path is where the object is: "" for the top level, then field
	// names and indexes, as in targets[3].
	Path string
	// Key is the second spelling; First the first (they differ in case,
	// or not at all).
	Key, First string
}

func (e *RepeatedError) Error() string {
	where := ""
	if e.Path != "" {
		where = " in " + e.Path
	}
	if e.Key == e.First {
		return fmt.Sprintf("the key %q is given twice%s; give each key once", e.Key, where)
	}
	return fmt.Sprintf("the keys %q and %q%s are one key written twice (keys are matched without regard to case); give each key once", e.First, e.Key, where)
}

// Repeated reads data as one JSON value and returns a *RepeatedError for
// the first object, at any depth, that gives a key twice, counting keys
// that differ only in case as one (as Go's decoder does). It returns nil
// when no key repeats, and a plain error when data is not JSON.
func Repeated(data []byte) error {
	return RepeatedExact(data, nil)
}

// RepeatedExact is Repeated for input some of whose objects are read into
// Go maps, which take their keys as written: in a Prometheus label set
// "env" and "Env" are two labels, and only a key given twice exactly is
// ambiguous there. exact reports whether the object at a path (as in
// RepeatedError.Path: "alerts[3].labels") is such a map; nil means none.
func RepeatedExact(data []byte, exact func(path string) bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return value(dec, "", exact)
}

// value reads one JSON value from dec, checking the objects in it.
func value(dec *json.Decoder, path string, exact func(string) bool) error {
	t, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	switch t {
	case json.Delim('{'):
		seen := map[string]string{}
		asWritten := exact != nil && exact(path)
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return fmt.Errorf("not JSON: %w", err)
			}
			key, _ := kt.(string)
			folded := key
			if !asWritten {
				folded = fold(key)
			}
			if first, ok := seen[folded]; ok {
				return &RepeatedError{Path: path, Key: key, First: first}
			}
			seen[folded] = key
			if err := value(dec, join(path, key), exact); err != nil {
				return err
			}
		}
		return closing(dec)
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := value(dec, path+"["+strconv.Itoa(i)+"]", exact); err != nil {
				return err
			}
		}
		return closing(dec)
	}
	return nil
}

func closing(dec *json.Decoder) error {
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fold maps a key to what Go's decoder compares when it matches a key
// to a field without regard to case (encoding/json's foldName): each rune
// to upper case after lower case, so that "ſ" meets "s" and "K" (Kelvin)
// meets "k".
func fold(key string) string {
	return strings.Map(func(r rune) rune { return unicode.ToUpper(unicode.ToLower(r)) }, key)
}
