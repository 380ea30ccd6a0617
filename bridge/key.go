package main

import (
	"bytes"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/valyala/fastjson"
)

// pathTrie is the read paths of an entrypoint as a trie, its edges sorted by key: an edge
// with a nil sub-trie reads the whole value under its key.
type pathTrie []trieEdge

type trieEdge struct {
	key string
	sub pathTrie
}

func newPathTrie(paths [][]string) pathTrie {
	byKey := map[string][][]string{}
	whole := map[string]bool{}
	for _, path := range paths {
		if len(path) == 1 {
			whole[path[0]] = true
		} else {
			byKey[path[0]] = append(byKey[path[0]], path[1:])
		}
	}
	var trie pathTrie
	for key := range whole {
		trie = append(trie, trieEdge{key: key})
	}
	for key, rest := range byKey {
		if !whole[key] {
			trie = append(trie, trieEdge{key: key, sub: newPathTrie(rest)})
		}
	}
	sort.Slice(trie, func(i, j int) bool { return trie[i].key < trie[j].key })
	return trie
}

// cacheKey is the canonical JSON of the input projected onto the read paths: what the
// policy can read of it, as OPA reads it. A path that is absent, or that runs into a value
// that is not an object, is left out (the policy sees undefined either way). Numbers keep
// their text (two numbers OPA tells apart never share a key), strings are written from
// their decoded value, object keys are sorted, and a duplicated key counts once, with its
// last value, as in OPA's decoder.
func (q *preparedQuery) cacheKey(raw []byte) ([]byte, *bridgeError) {
	if plainJSON(bytes.TrimSpace(raw)) {
		p := parsers.Get()
		defer parsers.Put(p)
		if v, err := p.ParseBytes(raw); err == nil && fastjson.ValidateBytes(raw) == nil && readableNumbers(v) {
			if out, ok := appendProjected(make([]byte, 0, 128), v, q.trie); ok {
				return out, nil
			}
		}
	}
	// What fastjson could read differently from OPA's decoder: the value OPA evaluates.
	v, err := parseInput(raw)
	if err != nil {
		return nil, newError("invalid_input", err)
	}
	out, ok := appendJSON(make([]byte, 0, 128), projectAST(v, q.trie))
	if !ok {
		return nil, &bridgeError{Code: "invalid_input", Message: "the projection has no canonical JSON"}
	}
	return out, nil
}

// readableNumbers: every number of the document, read or not, is one OPA's decoder takes.
// A key is only ever made for an input OPA can evaluate: an input it refuses (an exponent
// out of range anywhere) must get OPA's error, never a cached answer of a readable twin.
func readableNumbers(v *fastjson.Value) bool {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		ok := true
		o.Visit(func(_ []byte, x *fastjson.Value) { ok = ok && readableNumbers(x) })
		return ok
	case fastjson.TypeArray:
		items, _ := v.Array()
		for _, x := range items {
			if !readableNumbers(x) {
				return false
			}
		}
		return true
	case fastjson.TypeNumber:
		_, ok := numberValue(v.String())
		return ok
	default:
		return true
	}
}

// appendProjected writes the projection of a parsed document; false when a number's text
// is one OPA's decoder would refuse (the slow path then answers as OPA does).
func appendProjected(dst []byte, v *fastjson.Value, trie pathTrie) ([]byte, bool) {
	dst = append(dst, '{')
	if v.Type() == fastjson.TypeObject {
		o, _ := v.Object()
		var ok bool
		if dst, ok = appendProjectedMembers(dst, o, trie); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

func appendProjectedMembers(dst []byte, o *fastjson.Object, trie pathTrie) ([]byte, bool) {
	first := true
	for _, edge := range trie {
		value := lastMember(o, edge.key)
		if value == nil {
			continue
		}
		mark := len(dst)
		if !first {
			dst = append(dst, ',')
		}
		dst = appendString(dst, edge.key)
		dst = append(dst, ':')
		var ok bool
		switch {
		case edge.sub == nil:
			dst, ok = appendCanonical(dst, value)
		case value.Type() == fastjson.TypeObject:
			// An object with nothing read under it stays, as {}: it is what the policy sees.
			inner, _ := value.Object()
			dst = append(dst, '{')
			if dst, ok = appendProjectedMembers(dst, inner, edge.sub); ok {
				dst = append(dst, '}')
			}
		default:
			dst = dst[:mark]
			continue
		}
		if !ok {
			return dst, false
		}
		first = false
	}
	return dst, true
}

// lastMember is the value OPA's decoder keeps for a key: the last one written.
func lastMember(o *fastjson.Object, key string) *fastjson.Value {
	var found *fastjson.Value
	o.Visit(func(k []byte, v *fastjson.Value) {
		if string(k) == key {
			found = v
		}
	})
	return found
}

// appendCanonical writes a parsed value as appendJSON writes the AST value OPA builds of it.
func appendCanonical(dst []byte, v *fastjson.Value) ([]byte, bool) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		members := map[string]*fastjson.Value{}
		o.Visit(func(k []byte, x *fastjson.Value) { members[string(k)] = x })
		keys := make([]string, 0, len(members))
		for k := range members {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendString(dst, k), ':')
			var ok bool
			if dst, ok = appendCanonical(dst, members[k]); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case fastjson.TypeArray:
		items, _ := v.Array()
		dst = append(dst, '[')
		for i, x := range items {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = appendCanonical(dst, x); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return appendString(dst, string(s)), true
	case fastjson.TypeNumber:
		text := v.String()
		if _, ok := numberValue(text); !ok {
			return dst, false
		}
		return append(dst, text...), true
	case fastjson.TypeTrue:
		return append(dst, "true"...), true
	case fastjson.TypeFalse:
		return append(dst, "false"...), true
	default:
		return append(dst, "null"...), true
	}
}

// projectAST is the same projection over the value OPA evaluates.
func projectAST(v ast.Value, trie pathTrie) ast.Object {
	out := ast.NewObject()
	obj, isObject := v.(ast.Object)
	if !isObject {
		return out
	}
	for _, edge := range trie {
		k := ast.InternedTerm(edge.key)
		value := obj.Get(k)
		switch {
		case value == nil:
		case edge.sub == nil:
			out.Insert(k, value)
		default:
			if _, isObject := value.Value.(ast.Object); isObject {
				out.Insert(k, ast.NewTerm(projectAST(value.Value, edge.sub)))
			}
		}
	}
	return out
}
