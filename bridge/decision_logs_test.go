package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// decisionsOf serves one request: its body and its decisions' frames (facts, input, result).
func decisionsOf(t *testing.T, s *opaServer, method, target, body string) (string, [][]byte) {
	t.Helper()
	_, records, answer := served(t, s, method, target, body)
	frames, berr := readFrames(records)
	if berr != nil {
		t.Fatal(berr)
	}
	return answer, frames
}

func TestALoggingServerHandsBackEachDecisionWithTheAnswersID(t *testing.T) {
	s := shippedServer(t, `{"bundle_name": "bundle", "decision_logs": true}`)
	body, frames := decisionsOf(t, s, "POST", "/v1/data/acgs/config/max_harm_risk?metrics=true", `{"input": {"n": 2048.0000000000001}}`)
	if len(frames) != 3 {
		t.Fatalf("%d frames, want one decision's 3", len(frames))
	}
	var facts decisionFacts
	if err := json.Unmarshal(frames[0], &facts); err != nil {
		t.Fatal(err)
	}
	var answer struct {
		DecisionID string `json:"decision_id"`
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil || answer.DecisionID == "" || answer.DecisionID != facts.DecisionID {
		t.Fatalf("answer %s, decision %+v", body, facts)
	}
	if facts.Path != "acgs/config/max_harm_risk" || string(frames[1]) != `{"n":2048.0000000000001}` || !strings.Contains(body, `"result":`+string(frames[2])) {
		t.Errorf("decision %+v input %s result %s; answer %s", facts, frames[1], frames[2], body)
	}
	if _, timed := facts.Metrics["timer_rego_query_eval_ns"]; !timed {
		t.Errorf("no metrics: %+v", facts.Metrics)
	}
	// Not a decision: nothing handed back.
	if _, frames := decisionsOf(t, s, "GET", "/v1/policies", ""); len(frames) != 0 {
		t.Errorf("%d frames for a policy listing", len(frames))
	}
}

func TestAServerThatDoesNotLogNamesNoDecision(t *testing.T) {
	s := shippedServer(t, `{"bundle_name": "bundle"}`)
	body, frames := decisionsOf(t, s, "GET", "/v1/data/acgs/config/max_harm_risk?metrics=true", "")
	if len(frames) != 0 || strings.Contains(body, "decision_id") {
		t.Errorf("%d frames, answer %s", len(frames), body)
	}
}
