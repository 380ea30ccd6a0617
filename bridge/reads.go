package main

import (
	"encoding/json"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
)

// reads is what an entrypoint can read of its input: the decision depends on nothing else
// (with the bundle fixed), which is what makes a cache key built from these paths sound.
type reads struct {
	// Paths under input (object keys), each cut where a reference stops being a constant
	// string; none is a prefix of another.
	Paths [][]string `json:"paths"`
	// WholeInput: some rule reads input as a whole (no projection is sound).
	WholeInput bool `json:"whole_input"`
	// Builtins reachable from the entrypoint whose answers depend on more than their
	// arguments (the clock, the network, randomness, the environment): its decisions can't
	// be cached, and partial evaluation must not fold them.
	Nondeterministic []string `json:"nondeterministic"`
	// Comparisons maps an input path (dotted) to the string constants the policy tests it
	// for equality with: the values worth specialising on with partial evaluation.
	Comparisons map[string][]string `json:"comparisons"`
}

// analyzeReads walks the query and every rule and function it can reach.
func analyzeReads(c *ast.Compiler, query ast.Body) reads {
	w := &readWalker{compiler: c, visited: map[*ast.Rule]bool{}, nondet: map[string]bool{}, compared: map[string]map[string]bool{}}
	w.walk(query)
	return w.result()
}

type readWalker struct {
	compiler *ast.Compiler
	visited  map[*ast.Rule]bool
	paths    [][]string
	whole    bool
	nondet   map[string]bool
	compared map[string]map[string]bool
	pending  []*ast.Rule
}

func (w *readWalker) walk(root any) {
	w.visit(root)
	for len(w.pending) > 0 {
		rule := w.pending[len(w.pending)-1]
		w.pending = w.pending[:len(w.pending)-1]
		w.visit(rule)
	}
}

func (w *readWalker) visit(node any) {
	ast.NewGenericVisitor(func(x any) bool {
		switch v := x.(type) {
		case ast.Ref:
			w.ref(v)
		case *ast.Expr:
			if v.IsCall() {
				w.call(v.Operator())
				w.comparison(v)
			}
		case ast.Call:
			if len(v) > 0 {
				if op, isRef := v[0].Value.(ast.Ref); isRef {
					w.call(op)
				}
			}
		}
		return false
	}).Walk(node)
}

// worldDependent lists builtins whose answers depend on the world although OPA's
// capabilities do not flag them nondeterministic: they check against the clock
// (certificate and token validity, request signing) or sign with fresh randomness.
var worldDependent = map[string]bool{
	"crypto.x509.parse_and_verify_certificates":              true,
	"crypto.x509.parse_and_verify_certificates_with_options": true,
	"io.jwt.decode_verify":                                   true,
	"io.jwt.encode_sign":                                     true,
	"io.jwt.encode_sign_raw":                                 true,
	"providers.aws.sign_req":                                 true,
	"time.now_ns":                                            true,
	"opa.runtime":                                            true,
	"http.send":                                              true,
	"net.lookup_ip_addr":                                     true,
	"rand.intn":                                              true,
	"uuid.rfc4122":                                           true,
}

// call records a builtin that makes decisions depend on the world. Any ref is checked,
// not only operators: `with upper as uuid.rfc4122` names its replacement as a plain ref.
func (w *readWalker) call(op ast.Ref) {
	name := op.String()
	if b, known := ast.BuiltinMap[name]; known && (b.Nondeterministic || worldDependent[name]) {
		w.nondet[name] = true
	}
}

func (w *readWalker) ref(ref ast.Ref) {
	switch {
	case ref.HasPrefix(ast.InputRootRef):
		w.input(ref)
	case ref.HasPrefix(ast.DefaultRootRef):
		// A ref that is not constant (`data.checks[name]`, `data[p].x`) may reach any rule
		// under its constant prefix: all of them are read.
		for _, rule := range w.compiler.GetRulesDynamicWithOpts(ref, ast.RulesOptions{IncludeHiddenModules: true}) {
			w.enqueue(rule)
		}
	default:
		w.call(ref)
	}
}

// comparison records input.a.b == "constant" (in either order).
func (w *readWalker) comparison(expr *ast.Expr) {
	op := expr.Operator().String()
	operands := expr.Operands()
	if (op != "equal" && op != "eq") || len(operands) != 2 {
		return
	}
	for i, operand := range operands {
		ref, isRef := operand.Value.(ast.Ref)
		constant, isString := operands[1-i].Value.(ast.String)
		if !isRef || !isString || !ref.HasPrefix(ast.InputRootRef) || !ref.IsGround() {
			continue
		}
		path := ref[1:].String()
		if w.compared[path] == nil {
			w.compared[path] = map[string]bool{}
		}
		w.compared[path][string(constant)] = true
	}
}

func (w *readWalker) enqueue(rule *ast.Rule) {
	for r := rule; r != nil; r = r.Else {
		if !w.visited[r] {
			w.visited[r] = true
			w.pending = append(w.pending, r)
		}
	}
}

// input records the constant prefix of a reference into input.
func (w *readWalker) input(ref ast.Ref) {
	path := make([]string, 0, len(ref)-1)
	for _, term := range ref[1:] {
		key, isString := term.Value.(ast.String)
		if !isString {
			// A variable, or a key that is not an object key (array indices included):
			// the value read is everything under the prefix.
			break
		}
		path = append(path, string(key))
	}
	w.record(path)
}

func (w *readWalker) record(path []string) {
	if len(path) == 0 {
		w.whole = true
		return
	}
	w.paths = append(w.paths, path)
}

func (w *readWalker) result() reads {
	r := reads{
		Paths:            minimalPaths(w.paths),
		WholeInput:       w.whole,
		Nondeterministic: []string{},
		Comparisons:      map[string][]string{},
	}
	for path, constants := range w.compared {
		for constant := range constants {
			r.Comparisons[path] = append(r.Comparisons[path], constant)
		}
		sort.Strings(r.Comparisons[path])
	}
	if r.WholeInput {
		r.Paths = [][]string{}
	}
	for name := range w.nondet {
		r.Nondeterministic = append(r.Nondeterministic, name)
	}
	sort.Strings(r.Nondeterministic)
	return r
}

// minimalPaths sorts and deduplicates paths, dropping any path that extends another:
// reading a value reads everything under it.
func minimalPaths(paths [][]string) [][]string {
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) < len(paths[j]) })
	keep := [][]string{}
	seen := map[string]bool{}
	for _, p := range paths {
		covered := false
		for k := 1; k <= len(p); k++ {
			if seen[pathKey(p[:k])] {
				covered = true
				break
			}
		}
		if !covered {
			seen[pathKey(p)] = true
			keep = append(keep, p)
		}
	}
	sort.Slice(keep, func(i, j int) bool { return pathKey(keep[i]) < pathKey(keep[j]) })
	return keep
}

func pathKey(p []string) string {
	b, _ := json.Marshal(p)
	return string(b)
}
