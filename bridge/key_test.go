package main

import (
	"testing"

	"github.com/valyala/fastjson"
)

// The fast projection (fastjson) writes exactly what the projection of the value OPA
// evaluates writes, so that a key never depends on the path that built it.
var keyCorpus = []string{
	`{"a": {"b": 1, "x": 2}, "c": [1], "d": 3}`,
	`{"a": {"b": {"z": [1, {"y": 2, "x": 1}], "a": null}}, "c": {"k": "v\"q\\n"}}`,
	`{"a": {"b": 1, "b": 2}, "c": 3, "c": {"x": 1}}`,
	`{"a": {"x": 1}, "c": 1e400}`,
	`{"a": "not an object", "c": -0}`,
	`{"a": {"b": 2048.0000000000001}, "c": 18446744073709551617}`,
	`{"c": "caf\u00e9"}`,
	`{"c": "<&>"}`,
	`[1, 2]`,
	`"text"`,
}

func TestTheFastProjectionWritesWhatTheASTProjectionWrites(t *testing.T) {
	trie := newPathTrie([][]string{{"a", "b"}, {"c"}})
	for _, text := range keyCorpus {
		value, err := parseInput([]byte(text))
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		want, ok := appendJSON(nil, projectAST(value, trie))
		if !ok {
			t.Fatalf("%s: no canonical JSON", text)
		}
		parsed, err := fastjson.Parse(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		got, ok := appendProjected(nil, parsed, trie)
		if !ok || string(got) != string(want) {
			t.Errorf("%s:\n fast %s (%v)\n  ast %s", text, got, ok, want)
		}
	}
}
