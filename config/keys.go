package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/recallbot/recallbot/alerts"
	"github.com/recallbot/recallbot/autorecall"
)

// The file is checked against the Go types it decodes into by walking its
// YAML nodes beside them, so that each mistake is reported with the key
// path the file uses (recall.window, autorecall.rules[1].action) and its
// line: a key no field takes, and a value its field cannot hold. Nothing
// is read out of the decoder's messages, which name Go types.

// itemNames names the sections that come many to a file, where an unknown
// key is reported "in an autorecall rule" rather than by its path.
var itemNames = map[reflect.Type]string{
	reflect.TypeFor[autorecall.Rule](): "an autorecall rule",
	reflect.TypeFor[alerts.Target]():   "an alerts route or default",
}

// repeatedKeys reports the first key of the file given twice in one
// mapping, with the line of each (the decoder would let neither win).
func repeatedKeys(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			for j := i + 2; j+1 < len(n.Content); j += 2 {
				if o := n.Content[j]; o.Kind == k.Kind && o.Value == k.Value {
					return fmt.Errorf("line %d: mapping key %q already defined at line %d", o.Line, o.Value, k.Line)
				}
			}
		}
	}
	for _, c := range n.Content {
		if err := repeatedKeys(c); err != nil {
			return err
		}
	}
	return nil
}

// unknownKeys reports every key of n that names no field of t, the type
// n decodes into, with its line and the section it is in.
func unknownKeys(n *yaml.Node, t reflect.Type, path string) []error {
	n, t = deref(n, t)
	var errs []error
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := fieldsOf(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if merged, ok := mergeKey(k, v); ok {
				for _, m := range merged {
					errs = append(errs, unknownKeys(m, t, path)...)
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				errs = append(errs, fmt.Errorf("line %d: %s is not a key; write a name before the colon, e.g. key: value", k.Line, shownValue(k)))
				continue
			}
			if k.ShortTag() == "!!null" {
				errs = append(errs, fmt.Errorf("line %d: a key is empty; write a name before the colon, e.g. key: value", k.Line))
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				errs = append(errs, fmt.Errorf("line %d: unknown key %q %s%s", k.Line, k.Value, section(t, path), didYouMean(k.Value, fields)))
				continue
			}
			errs = append(errs, unknownKeys(v, ft, join(path, k.Value))...)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, unknownKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))...)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, v := range n.Content {
			errs = append(errs, unknownKeys(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
}

// wrongTypes reports every value of n that the field it goes into cannot
// hold, naming the key, the value and an example of a right one. A value
// is tried on its own, by the decoder, so that what is refused here is
// what decoding the whole file refuses.
func wrongTypes(n *yaml.Node, t reflect.Type, path string) []error {
	n, t = deref(n, t)
	var errs []error
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := fieldsOf(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if merged, ok := mergeKey(n.Content[i], n.Content[i+1]); ok {
				for _, m := range merged {
					errs = append(errs, wrongTypes(m, t, path)...)
				}
				continue
			}
			if ft, ok := fields[n.Content[i].Value]; ok {
				errs = append(errs, wrongTypes(n.Content[i+1], ft, join(path, n.Content[i].Value))...)
			}
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, wrongTypes(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))...)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, v := range n.Content {
			errs = append(errs, wrongTypes(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	default:
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			key := path
			if key == "" {
				key = "a value"
			}
			errs = append(errs, fmt.Errorf("line %d: %s: %s", n.Line, key, wrongType(n, t)))
		}
	}
	return errs
}

// deref follows an alias to the node it names and a pointer to the type
// it points to.
func deref(n *yaml.Node, t reflect.Type) (*yaml.Node, reflect.Type) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return n, t
}

// mergeKey reports whether k is YAML's merge key ("<<: *defaults"), and
// the mappings it merges into the one it is in.
func mergeKey(k, v *yaml.Node) ([]*yaml.Node, bool) {
	if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!merge" {
		return nil, false
	}
	if v.Kind == yaml.SequenceNode {
		return v.Content, true
	}
	return []*yaml.Node{v}, true
}

// fieldsOf maps each key a struct takes, as the decoder reads its yaml
// tags, to the field's type.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			for k, v := range fieldsOf(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// section says where a key is, as the file names it.
func section(t reflect.Type, path string) string {
	if name, ok := itemNames[t]; ok {
		return "in " + name
	}
	if path == "" {
		return "at the top level"
	}
	return "in " + path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// shownValue is n as an error shows it: a scalar quoted, a map or a list
// in words.
func shownValue(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map of keys"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

var durationType = reflect.TypeFor[time.Duration]()

// wrongType says what is wrong with the value n for a field of type t and
// what to write instead.
func wrongType(n *yaml.Node, t reflect.Type) string {
	shown := shownValue(n)
	switch t.Kind() {
	case reflect.Int64:
		if t == durationType {
			return shown + " is not a duration; write e.g. 2h or 90m"
		}
		return shown + " is not a whole number; write e.g. 10"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return shown + " is not a whole number; write e.g. 10"
	case reflect.Float32, reflect.Float64:
		return shown + " is not a number; write e.g. 20 or 2.5"
	case reflect.Bool:
		return shown + " is not true or false"
	case reflect.Slice, reflect.Array:
		return shown + " is not a list; write e.g. [a, b] or one \"- item\" per line"
	case reflect.Map, reflect.Struct:
		return shown + " is not a section; write its keys on the lines below, indented"
	case reflect.String:
		return shown + " is not a single value; write it on one line, e.g. key: value"
	}
	return shown + " is not a value this key takes"
}

// decodeErrors are the decoder's own errors, one per line, for what the
// walks above do not foresee (a key given twice).
func decodeErrors(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	errs := make([]error, len(te.Errors))
	for i, e := range te.Errors {
		errs[i] = errors.New(e)
	}
	return errors.Join(errs...)
}
