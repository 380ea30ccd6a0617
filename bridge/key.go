package main

import (
	"github.com/open-policy-agent/opa/v1/ast"
)

// pathTrie is the read paths of an entrypoint as a trie: key -> sub-trie, or a nil
// sub-trie where the whole value under the key is read.
type pathTrie map[string]pathTrie

func newPathTrie(paths [][]string) pathTrie {
	trie := pathTrie{}
	for _, path := range paths {
		node := trie
		for _, step := range path[:len(path)-1] {
			next, found := node[step]
			if !found {
				next = pathTrie{}
				node[step] = next
			}
			node = next
		}
		node[path[len(path)-1]] = nil
	}
	return trie
}

// project keeps what the policy can read of an input: a path that is absent, or that runs
// into a value that is not an object, is left out (the policy sees undefined either way).
func project(v ast.Value, trie pathTrie) ast.Object {
	out := ast.NewObject()
	obj, isObject := v.(ast.Object)
	if !isObject {
		return out
	}
	for key, sub := range trie {
		k := ast.InternedTerm(key)
		value := obj.Get(k)
		switch {
		case value == nil:
		case sub == nil:
			out.Insert(k, value)
		default:
			if inner := project(value.Value, sub); inner.Len() > 0 {
				out.Insert(k, ast.NewTerm(inner))
			}
		}
	}
	return out
}

// cacheKey is the canonical JSON of the input projected onto the read paths, made from the
// very value OPA evaluates: numbers keep their text (two numbers OPA tells apart never
// share a key), strings are decoded as OPA decodes them, object keys are sorted.
func (q *preparedQuery) cacheKey(raw []byte) ([]byte, *bridgeError) {
	v, err := parseInput(raw)
	if err != nil {
		return nil, newError("invalid_input", err)
	}
	out, ok := appendJSON(make([]byte, 0, 128), project(v, q.trie))
	if !ok {
		return nil, &bridgeError{Code: "invalid_input", Message: "the projection has no canonical JSON"}
	}
	return out, nil
}
