package main

import (
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Every document parses to the value OPA's own decoder gives, or fails where it fails.
var inputCorpus = []string{
	`{"action":"data.read","context":{"agent":{"trust_level":0.85}}}`,
	`{"a":1,"a":2}`,
	`{"n":[0,-0,1e3,1E-3,-12.50,123456789012345678901234567890,0.1]}`,
	`{"n":1e999999999999}`, `{"n":[1, 2e-999999999999]}`,
	`{"s":"caf\u00e9 \"q\" \\ / \n"}`,
	`{"s":"café ✓ 𝄞"}`,
	`{"s":"a\/b \"q\" \\ \n\t\r\b\f", "":""}`,
	`{"s":"\ud800"}`,
	`{"s":"\ud834\udd1e"}`,
	"{\"s\":\"tab\tinside\"}",
	"{\"s\":\"\xff\xfe\"}",
	`{"s":"\x"}`,
	` {"padded": true} ` + "\n",
	"{\n  \"pretty\": [1, 2]\n}",
	`[]`, `{}`, `null`, `true`, `"x"`, `5`,
	`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":NaN}`, `{"a":inf}`, `{"a":.5}`,
	`{"a":1}{"b":2}`, `{"a":1} x`, `{"a":1}}`, `{"a":1} ]`, `[1]]`, `{"a":1},`, `{"a":}`, `{"a" 1}`, `{a:1}`, `[1,]`, ``, `   `,
	strings.Repeat("[", 400) + strings.Repeat("]", 400),
}

func TestParseInputAgreesWithOPA(t *testing.T) {
	for _, doc := range inputCorpus {
		got, gotErr := parseInput([]byte(doc))
		want, wantErr := parseInputSlow([]byte(doc))
		if (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%q: error %v, OPA's path: %v", doc, gotErr, wantErr)
			continue
		}
		if gotErr == nil && ast.Compare(got, want) != 0 {
			t.Errorf("%q: %v, OPA's path: %v", doc, got, want)
		}
	}
}

func TestObjectKeysAreSharedTerms(t *testing.T) {
	a, _ := parseInput([]byte(`{"action":"x"}`))
	b, _ := parseInput([]byte(`{"action":"y"}`))
	ka := a.(ast.Object).Keys()[0]
	kb := b.(ast.Object).Keys()[0]
	if ka != kb {
		t.Fatalf("two parses of the key %v built two terms", ka)
	}
}

func TestTrailingDataIsRefusedAsOpaEvalRefusesIt(t *testing.T) {
	for _, doc := range []string{`{"a":1}}`, `{"a":1} ]`, `[1]]`, `{"a":1},`, `{"a":1}{"b":2}`, `{"a":1} x`, `1 2`} {
		if _, err := parseInput([]byte(doc)); err == nil {
			t.Errorf("%q: read, where opa eval refuses it", doc)
		}
	}
	if _, err := parseInput([]byte("{\"a\":1} \n\t")); err != nil {
		t.Errorf("trailing white space: %v", err)
	}
}
