package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// partialRequest asks for an entrypoint specialised on the known part of the input.
type partialRequest struct {
	Query    string   `json:"query"`
	Input    any      `json:"input"`
	Unknowns []string `json:"unknowns"`
}

var partialCounter atomic.Uint64

// preparePartial partially evaluates the query with the known input and the unknowns left
// open, and prepares the residual for evaluation on full inputs.
func (b *bundleState) preparePartial(raw []byte) (*preparedQuery, *bridgeError) {
	var req partialRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, newError("invalid_input", err)
	}
	known, err := ast.InterfaceToValue(req.Input)
	if err != nil {
		return nil, newError("invalid_input", err)
	}
	// Partial evaluation adds the residual's modules to the compiler: give it its own.
	compiler, berr := compileBundle(b.source)
	if berr != nil {
		return nil, berr
	}
	ns := fmt.Sprintf("residual%d", partialCounter.Add(1))
	ctx := context.Background()
	pr, err := rego.New(
		rego.Query(req.Query), rego.Compiler(compiler), rego.Store(b.store),
		rego.ParsedInput(known), rego.Unknowns(req.Unknowns), rego.PartialNamespace(ns),
	).PartialResult(ctx)
	if err != nil {
		return nil, newError("partial_error", err)
	}
	pq, err := pr.Rego().PrepareForEval(ctx)
	if err != nil {
		return nil, newError("partial_error", err)
	}
	entry := ast.MustParseBody(fmt.Sprintf("data.%s.__result__", ns))
	q := newPreparedQuery(req.Query, pq, analyzeReads(compiler, entry))
	q.info.Residual = residualText(compiler, ns)
	return q, nil
}

// residualText renders the modules partial evaluation produced, for inspection and tests.
func residualText(c *ast.Compiler, ns string) []string {
	var out []string
	for id, m := range c.Modules {
		if id == "__partialresult__"+ns+"__" || strings.HasPrefix(id, "__partialsupport__"+ns+"__") {
			out = append(out, m.String())
		}
	}
	sort.Strings(out)
	return out
}

// compileRequest is the body of OPA's POST /v1/compile.
type compileRequest struct {
	Query    string   `json:"query"`
	Input    *any     `json:"input"`
	Unknowns []string `json:"unknowns"`
}

type compileResult struct {
	Queries []ast.Body    `json:"queries,omitempty"`
	Support []*ast.Module `json:"support,omitempty"`
}

// compile answers OPA's compile API: partial evaluation of a query, as the OPA server does.
func (b *bundleState) compile(raw []byte) (*compileResult, *bridgeError) {
	var req compileRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, newError("invalid_input", err)
	}
	parsed, err := ast.ParseBody(req.Query)
	if err != nil {
		return nil, newError("invalid_query", err)
	}
	opts := []func(*rego.Rego){rego.ParsedQuery(parsed), rego.Compiler(b.compiler), rego.Store(b.store)}
	if req.Input != nil {
		opts = append(opts, rego.Input(*req.Input))
	}
	if req.Unknowns != nil {
		opts = append(opts, rego.Unknowns(req.Unknowns))
	}
	pq, err := rego.New(opts...).Partial(context.Background())
	if err != nil {
		return nil, newError("eval_error", err)
	}
	return &compileResult{Queries: pq.Queries, Support: pq.Support}, nil
}
