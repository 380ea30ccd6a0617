package main

import (
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// resultJSON writes the bytes encoding/json writes for OPA's usual result.
var outputCorpus = []string{
	`{"allow": false, "violations": ["responsible_party_missing", "trust_level_too_low"], "reason": "Constitutional checks failed", "confidence_score": 0.8, "policy_version": "1.0.0", "rule": "constitutional"}`,
	`{"b": 1, "a": [true, false, null], "A": {"z": {}, "y": []}}`,
	`{"html": "<a href=\"x\">&</a>", "ctl": "line\nbreak\ttab\u0001", "uni": "café \u2028 ✓"}`,
	`{1: "number key", "s": "x"}`,
	`{"set": {"b", "a", "c"}}`,
	`[123456789012345678901234567890, 1e3, -0.5, 0]`,
	`"plain"`, `null`, `{}`, `[]`,
}

func TestResultJSONMatchesEncodingJSON(t *testing.T) {
	for _, text := range outputCorpus {
		v := ast.MustParseTerm(text).Value
		got, err := resultJSON(v)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		x, err := ast.JSON(v)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(x)
		if string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", text, got, want)
		}
	}
}

func TestAnExpressionRegoDoesNotCaptureIsTrue(t *testing.T) {
	b, berr := loadBundle(loadRequest("../policy/bundle"))
	if berr != nil {
		t.Fatal(berr)
	}
	q, berr := b.prepare("x := 1")
	if berr != nil {
		t.Fatal(berr)
	}
	out, defined, berr := q.eval(nil, 0)
	if berr != nil || !defined || string(out) != "true" {
		t.Fatalf("x := 1 gave %s (defined %v, error %v)", out, defined, berr)
	}
}

func TestAResultNestedBeyondWhatOPAsServerEncodesIsAnError(t *testing.T) {
	deep := func(n int) ast.Value {
		v := ast.Value(ast.Number("0"))
		for range n {
			v = ast.NewArray(ast.NewTerm(v))
		}
		return v
	}
	if _, err := resultJSON(deep(maxResultDepth)); err != nil {
		t.Errorf("depth %d: %v", maxResultDepth, err)
	}
	if _, err := resultJSON(deep(maxResultDepth + 1)); err == nil {
		t.Errorf("depth %d: no error", maxResultDepth+1)
	}
}
