package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/open-policy-agent/opa/v1/server"
)

// The decisions OPA's own server makes while answering one request, handed back to Python
// with the answer so that they reach the service's decision log like its fast paths' do.
// Installed only when the service logs decisions: otherwise OPA's server logs nothing and its
// answers carry no decision id, as `opa run` without decision logging.
//
// Each decision crosses as three frames (frames.go's input frames): its facts as JSON
// (decisionFacts), its input's JSON and its result's JSON (empty: no input, undefined).

type collectedKey struct{}

// collected holds one request's decisions (OPA may log from more than one goroutine).
type collected struct {
	mu    sync.Mutex
	infos []*server.Info
}

// collectDecision is OPA's decision logger: the request's collector keeps the record. It never
// fails: an error here would turn OPA's answer into a 500.
func collectDecision(ctx context.Context, info *server.Info) error {
	if c, found := ctx.Value(collectedKey{}).(*collected); found {
		c.mu.Lock()
		c.infos = append(c.infos, info)
		c.mu.Unlock()
	}
	return nil
}

type decisionFacts struct {
	DecisionID  string         `json:"decision_id"`
	Path        string         `json:"path,omitempty"`
	Query       string         `json:"query,omitempty"`
	Revision    string         `json:"revision,omitempty"`
	Error       string         `json:"error,omitempty"`
	Metrics     map[string]any `json:"metrics,omitempty"`
	TimestampNs int64          `json:"timestamp_ns"`
}

// frames writes the decisions (none for a nil collector).
func (c *collected) frames() []byte {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []byte
	for _, info := range c.infos {
		facts := decisionFacts{
			DecisionID:  info.DecisionID,
			Path:        info.Path,
			Query:       info.Query,
			TimestampNs: info.Timestamp.UnixNano(),
		}
		for _, b := range info.Bundles { // the service serves one bundle
			facts.Revision = b.Revision
		}
		if info.Error != nil {
			facts.Error = info.Error.Error()
		}
		if info.Metrics != nil {
			facts.Metrics = info.Metrics.All()
		}
		raw, _ := json.Marshal(facts)
		out = appendInputFrame(out, raw)
		out = appendInputFrame(out, documentJSON(info.Input))
		out = appendInputFrame(out, documentJSON(info.Results))
	}
	return out
}

// documentJSON is the value's JSON as OPA's decision log writes it; nil: absent.
func documentJSON(v *any) []byte {
	if v == nil || *v == nil {
		return nil
	}
	raw, err := json.Marshal(*v)
	if err != nil {
		return nil
	}
	return raw
}

func appendInputFrame(dst, body []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// newDecisionID is a random UUID (version 4), as OPA's runtime names decisions.
func newDecisionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
