package main

import (
	"strings"
	"testing"
)

func TestPartialKnowsTheAction(t *testing.T) {
	b, berr := loadBundle(loadRequest("../policy/bundle"))
	if berr != nil {
		t.Fatal(berr)
	}
	q, berr := b.preparePartial([]byte(`{"query": "data.acgs.constitutional.evaluate", "input": {"action": "data.read"}, "unknowns": ["input.context", "input.data"]}`))
	if berr != nil {
		t.Fatal(berr)
	}
	text := strings.Join(q.info.Residual, "\n")
	if strings.Contains(text, "evolve_agent") {
		t.Fatalf("the residual still tests the action: %d bytes", len(text))
	}
	for _, p := range q.info.Reads.Paths {
		if p[0] == "data" {
			t.Fatalf("the residual of data.read reads %v", p)
		}
	}
}
