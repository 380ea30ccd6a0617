package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/util"
)

// partialRequest asks for an entrypoint specialised on the known part of the input.
type partialRequest struct {
	Query    string   `json:"query"`
	Input    any      `json:"input"`
	Unknowns []string `json:"unknowns"`
}

var partialCounter atomic.Uint64

const resultVar = "__pe_result__"

// preparePartial partially evaluates the query with the known input and the unknowns left
// open, and prepares the residual for evaluation on full inputs.
//
// rego.PartialResult would do this in one call, but it evaluates as if no input were known;
// rego.Partial honours the known input, so the residual module is built here the way
// PartialResult builds it: one __result__ rule per residual query, plus the support modules.
func (b *bundleState) preparePartial(raw []byte) (*preparedQuery, *bridgeError) {
	var req partialRequest
	if err := util.UnmarshalJSON(raw, &req); err != nil {
		return nil, newError("invalid_input", err)
	}
	known, err := ast.InterfaceToValue(req.Input)
	if err != nil {
		return nil, newError("invalid_input", err)
	}
	// The residual's modules are added to a compiler: give it its own.
	compiler, berr := compileBundle(b.source, b.store, b.regoVersion)
	if berr != nil {
		return nil, berr
	}
	ns := fmt.Sprintf("residual%d", partialCounter.Add(1))
	ctx := context.Background()
	// The query binds its value to a variable, so that each residual query carries it.
	query := fmt.Sprintf("%s = %s", resultVar, req.Query)
	pq, err := rego.New(
		rego.Query(query), rego.Compiler(compiler), rego.Store(b.store),
		rego.ParsedInput(known), rego.Unknowns(req.Unknowns), rego.PartialNamespace(ns),
	).Partial(ctx)
	if err != nil {
		return nil, newError("partial_error", err)
	}
	if berr := addResidual(compiler, ns, pq); berr != nil {
		return nil, berr
	}
	entry := ast.MustParseBody(fmt.Sprintf("data.%s.__result__", ns))
	prepared, err := rego.New(rego.ParsedQuery(entry), rego.Compiler(compiler), rego.Store(b.store), rego.Runtime(b.runtime)).PrepareForEval(ctx)
	if err != nil {
		return nil, newError("partial_error", err)
	}
	q := newPreparedQuery(req.Query, prepared, analyzeReads(compiler, entry))
	q.info.Residual = residualText(compiler, ns)
	return q, nil
}

func addResidual(compiler *ast.Compiler, ns string, pq *rego.PartialQueries) *bridgeError {
	module, err := ast.ParseModuleWithOpts("__partialresult__"+ns+"__", "package "+ns, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return newError("partial_error", err)
	}
	for _, body := range pq.Queries {
		module.Rules = append(module.Rules, &ast.Rule{
			Head:   ast.NewHead(ast.Var("__result__"), nil, ast.VarTerm(resultVar)),
			Body:   body,
			Module: module,
		})
	}
	modules := maps.Clone(compiler.Modules)
	modules["__partialresult__"+ns+"__"] = module
	for i, support := range pq.Support {
		modules[fmt.Sprintf("__partialsupport__%s__%d__", ns, i)] = support
	}
	compiler.Compile(modules)
	if compiler.Failed() {
		return &bridgeError{Code: "partial_error", Message: compiler.Errors.Error()}
	}
	return nil
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

// compile answers OPA's compile API: partial evaluation of a query, as the OPA server does,
// cancelled after timeout (0: none). A query that does not compile is the client's error.
func (b *bundleState) compile(raw []byte, timeout time.Duration) (*compileResult, *bridgeError) {
	var req compileRequest
	if err := util.UnmarshalJSON(raw, &req); err != nil {
		return nil, newError("invalid_input", err)
	}
	parsed, err := ast.ParseBody(req.Query)
	if err != nil {
		return nil, newError("invalid_query", err)
	}
	if len(parsed) == 0 {
		return nil, &bridgeError{Code: "invalid_query", Message: "cannot evaluate empty query"}
	}
	opts := []func(*rego.Rego){rego.ParsedQuery(parsed), rego.Compiler(b.compiler), rego.Store(b.store), rego.Runtime(b.runtime)}
	if req.Input != nil {
		opts = append(opts, rego.Input(*req.Input))
	}
	if req.Unknowns != nil {
		opts = append(opts, rego.Unknowns(req.Unknowns))
	}
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	pq, err := rego.New(opts...).Partial(ctx)
	var compileErrors ast.Errors
	switch {
	case err == nil:
	case topdown.IsCancel(err) || errors.Is(err, context.DeadlineExceeded):
		return nil, timeoutError(timeout)
	case errors.As(err, &compileErrors):
		return nil, newError("invalid_query", err)
	default:
		return nil, newError("eval_error", err)
	}
	return &compileResult{Queries: pq.Queries, Support: pq.Support}, nil
}
