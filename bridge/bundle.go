package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/runtime/info"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/version"
)

// bundleInfo describes a loaded bundle to the Python side.
type bundleInfo struct {
	Revision         string   `json:"revision"`
	ManifestRevision string   `json:"manifest_revision"`
	Roots            []string `json:"roots"`
	Modules          []string `json:"modules"`
}

// bundleState is one loaded, compiled bundle. It is immutable after load.
type bundleState struct {
	source   *bundle.Bundle
	compiler *ast.Compiler
	store    storage.Store
	runtime  *ast.Term // what opa.runtime() answers, as OPA builds it
	info     bundleInfo
}

func versionInfo() map[string]string {
	return map[string]string{"opa": version.Version, "go": runtime.Version()}
}

func loadBundle(path string) (*bundleState, *bridgeError) {
	if path == "" {
		return nil, &bridgeError{Code: "bundle_error", Message: "empty bundle path"}
	}
	b, err := loader.NewFileLoader().WithRegoVersion(ast.RegoV1).AsBundle(path)
	if err != nil {
		return nil, newError("bundle_error", err)
	}
	store := inmem.NewFromObjectWithOpts(b.Data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	if berr := checkDataConflicts(b, store); berr != nil {
		return nil, berr
	}
	compiler, berr := compileBundle(b)
	if berr != nil {
		return nil, berr
	}
	rt, err := info.New()
	if err != nil {
		return nil, newError("bundle_error", err)
	}
	state := &bundleState{
		source:   b,
		compiler: compiler,
		store:    store,
		runtime:  rt,
	}
	state.info = bundleInfo{
		Revision:         contentHash(b, path),
		ManifestRevision: b.Manifest.Revision,
		Roots:            rootsOf(b),
		Modules:          modulePaths(b),
	}
	return state, nil
}

// checkDataConflicts refuses a bundle whose rules would overwrite its data, as OPA's
// activation does ("conflicting rule for data path p/k found").
func checkDataConflicts(b *bundle.Bundle, store storage.Store) *bridgeError {
	ctx := context.Background()
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return newError("bundle_error", err)
	}
	defer store.Abort(ctx, txn)
	modules := make(map[string]*ast.Module, len(b.Modules))
	for _, m := range b.Modules {
		modules[m.Path] = m.Parsed
	}
	compiler := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1).WithPathConflictsCheck(storage.NonEmpty(ctx, store, txn))
	compiler.Compile(modules)
	if compiler.Failed() {
		return &bridgeError{Code: "compile_error", Message: compiler.Errors.Error()}
	}
	return nil
}

// compileBundle compiles the bundle's modules into a fresh compiler. Partial evaluation
// adds modules to the compiler it runs on, so each residual gets its own.
func compileBundle(b *bundle.Bundle) (*ast.Compiler, *bridgeError) {
	modules := make(map[string]*ast.Module, len(b.Modules))
	for _, m := range b.Modules {
		modules[m.Path] = m.Parsed
	}
	compiler := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1)
	compiler.Compile(modules)
	if compiler.Failed() {
		return nil, &bridgeError{Code: "compile_error", Message: compiler.Errors.Error()}
	}
	return compiler, nil
}

// contentHash identifies the bundle by what it contains, so that two different bundles
// never share a revision (and so never share cache entries), whatever their manifests say.
// Module paths are hashed relative to the bundle's root, so that a copy hashes the same.
func contentHash(b *bundle.Bundle, root string) string {
	h := sha256.New()
	for _, path := range modulePaths(b) {
		for _, m := range b.Modules {
			if m.Path == path {
				h.Write([]byte(strings.TrimPrefix(path, filepath.Clean(root))))
				h.Write([]byte{0})
				h.Write(m.Raw)
				h.Write([]byte{0})
			}
		}
	}
	data, _ := json.Marshal(b.Data) // map keys are sorted: canonical
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func modulePaths(b *bundle.Bundle) []string {
	paths := make([]string, 0, len(b.Modules))
	for _, m := range b.Modules {
		paths = append(paths, m.Path)
	}
	sort.Strings(paths)
	return paths
}

func rootsOf(b *bundle.Bundle) []string {
	if b.Manifest.Roots == nil {
		return []string{""}
	}
	return *b.Manifest.Roots
}

func (b *bundleState) prepare(query string) (*preparedQuery, *bridgeError) {
	parsed, err := ast.ParseBody(query)
	if err != nil {
		return nil, newError("invalid_query", err)
	}
	r := rego.New(rego.ParsedQuery(parsed), rego.Compiler(b.compiler), rego.Store(b.store), rego.Runtime(b.runtime))
	pq, err := r.PrepareForEval(context.Background())
	if err != nil {
		return nil, newError("compile_error", err)
	}
	return newPreparedQuery(query, pq, analyzeReads(b.compiler, parsed)), nil
}
