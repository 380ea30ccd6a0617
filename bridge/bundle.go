package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/keys"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/runtime/info"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"
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
	// The default Rego version of its files (a manifest may set others per file).
	regoVersion ast.RegoVersion
	info        bundleInfo
}

func versionInfo() map[string]string {
	return map[string]string{"opa": version.Version, "go": runtime.Version()}
}

// loadOptions is how to read a bundle, as `opa run` reads one: the flags of the same names.
type loadOptions struct {
	Path         string               `json:"path"`
	V0Compatible bool                 `json:"v0_compatible"` // Rego v0 unless the manifest says otherwise
	Verification *verificationOptions `json:"verification,omitempty"`
}

type verificationOptions struct {
	Key          string   `json:"key"` // PEM public key, HMAC secret, or a file holding one
	KeyID        string   `json:"key_id"`
	Algorithm    string   `json:"algorithm"`
	Scope        string   `json:"scope"`
	ExcludeFiles []string `json:"exclude_files"`
}

func (o *verificationOptions) config() (*bundle.VerificationConfig, error) {
	key, err := keys.NewKeyConfig(o.Key, o.Algorithm, o.Scope)
	if err != nil {
		return nil, err
	}
	return bundle.NewVerificationConfig(map[string]*keys.Config{o.KeyID: key}, o.KeyID, o.Scope, o.ExcludeFiles), nil
}

func loadBundle(raw []byte) (*bundleState, *bridgeError) {
	var opts loadOptions
	if err := util.UnmarshalJSON(raw, &opts); err != nil {
		return nil, newError("bundle_error", err)
	}
	if opts.Path == "" {
		return nil, &bridgeError{Code: "bundle_error", Message: "empty bundle path"}
	}
	version := ast.RegoV1
	if opts.V0Compatible {
		version = ast.RegoV0
	}
	fl := loader.NewFileLoader().WithRegoVersion(version).WithSkipBundleVerification(opts.Verification == nil)
	if opts.Verification != nil {
		config, err := opts.Verification.config()
		if err != nil {
			return nil, newError("bundle_error", fmt.Errorf("verification key: %w", err))
		}
		fl = fl.WithBundleVerificationConfig(config)
	}
	b, err := fl.AsBundle(opts.Path)
	if err != nil {
		return nil, newError("bundle_error", err)
	}
	return activate(b, version)
}

// activate compiles a read bundle and prepares its store, refusing what OPA's activation refuses.
func activate(b *bundle.Bundle, version ast.RegoVersion) (*bundleState, *bridgeError) {
	store := inmem.NewFromObjectWithOpts(b.Data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	compiler, berr := compileBundle(b, store, version)
	if berr != nil {
		return nil, berr
	}
	rt, err := info.New()
	if err != nil {
		return nil, newError("bundle_error", err)
	}
	state := &bundleState{source: b, compiler: compiler, store: store, runtime: rt, regoVersion: version}
	state.info = bundleInfo{
		Revision:         contentHash(b, version),
		ManifestRevision: b.Manifest.Revision,
		Roots:            rootsOf(b),
		Modules:          modulePaths(b),
	}
	return state, nil
}

// compileBundle compiles the bundle's modules into a fresh compiler, refusing rules that
// would overwrite the store's data as OPA's activation does ("conflicting rule for data
// path p/k found"). Partial evaluation adds modules to the compiler it runs on, so each
// residual gets its own.
func compileBundle(b *bundle.Bundle, store storage.Store, version ast.RegoVersion) (*ast.Compiler, *bridgeError) {
	ctx := context.Background()
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, newError("bundle_error", err)
	}
	defer store.Abort(ctx, txn)
	modules := make(map[string]*ast.Module, len(b.Modules))
	for _, m := range b.Modules {
		modules[m.Path] = m.Parsed
	}
	compiler := ast.NewCompiler().WithDefaultRegoVersion(version).WithPathConflictsCheck(storage.NonEmpty(ctx, store, txn))
	compiler.Compile(modules)
	compiler.WithPathConflictsCheck(nil) // the transaction ends here; partial evaluation compiles again
	if compiler.Failed() {
		return nil, &bridgeError{Code: "compile_error", Message: compiler.Errors.Error()}
	}
	return compiler, nil
}

// contentHash identifies the bundle by what it contains, so that two different bundles
// never share a revision (and so never share cache entries), whatever their manifests say,
// and the same content hashes the same whatever its packaging (a directory, a .tar.gz) or
// its file names: the modules' texts in order, the data, the roots and the Rego version.
func contentHash(b *bundle.Bundle, version ast.RegoVersion) string {
	texts := make([]string, 0, len(b.Modules))
	for _, m := range b.Modules {
		sum := sha256.Sum256(m.Raw)
		texts = append(texts, hex.EncodeToString(sum[:])+":"+m.Parsed.RegoVersion().String())
	}
	sort.Strings(texts)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", version, strings.Join(texts, ","))
	data, _ := json.Marshal(b.Data) // map keys are sorted: canonical
	h.Write(data)
	roots, _ := json.Marshal(rootsOf(b))
	h.Write(roots)
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
