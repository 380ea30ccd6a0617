package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/logging"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/server"
	"github.com/open-policy-agent/opa/v1/server/types"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// OPA's own REST server over a bundle, run in process and without a listener: the Python
// service hands it the requests its own fast paths do not answer (OPA's parameters such as
// explain and instrument, /v1/query, /v1/policies, /v1/config, POST /, ...), so that those
// answers are OPA's, byte for byte. It has its own store holding the same bundle, activated as
// `opa run --bundle` activates one (so writes under the bundle's roots are refused by OPA
// itself); Python refuses every other write before it gets here.

type opaServerOptions struct {
	BundleName      string          `json:"bundle_name"` // what `opa run -b` would name it: the path given
	DefaultDecision string          `json:"default_decision,omitempty"`
	Config          json.RawMessage `json:"config,omitempty"`        // OPA's configuration document (optional)
	DecisionLogs    bool            `json:"decision_logs,omitempty"` // hand each decision back with its answer
}

type opaServer struct {
	handler http.Handler
	manager *plugins.Manager
	stop    context.CancelFunc // ends what OPA started with the server's context (cache cleaners)
	logging bool               // decisions are collected per request and handed back (decision_logs.go)
}

// release stops the server's background work (the manager's status loop, cache cleaners);
// pe_release calls it when Python lets go.
func (s *opaServer) release() {
	s.manager.Stop(context.Background())
	s.stop()
}

// sealedStore refuses every write committed after the server's start: the service serves its
// bundle and nothing else (OPA itself refuses writes under the bundle's roots before that).
type sealedStore struct {
	storage.Store
	sealed atomic.Bool
}

// errWritesRefused is OPA's 400 (invalid_parameter) with this service's reason.
const errWritesRefused = types.BadRequestErr("this service serves its bundle only: writes through the REST API are refused")

func (s *sealedStore) Commit(ctx context.Context, txn storage.Transaction) error {
	if s.sealed.Load() {
		s.Store.Abort(ctx, txn)
		return errWritesRefused
	}
	return s.Store.Commit(ctx, txn)
}

type opaRequestHead struct {
	Method  string      `json:"method"`
	Target  string      `json:"target"` // path and query, as the client sent them
	Headers [][2]string `json:"headers"`
}

type opaResponseHead struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers"`
}

func (b *bundleState) opaServer(raw []byte) (*opaServer, *bridgeError) {
	var opts opaServerOptions
	if err := json.Unmarshal(raw, &opts); err != nil {
		return nil, newError("invalid_input", err)
	}
	config := map[string]any{}
	if len(opts.Config) > 0 {
		if err := json.Unmarshal(opts.Config, &config); err != nil {
			return nil, newError("invalid_input", err)
		}
	}
	if opts.DefaultDecision != "" {
		config["default_decision"] = opts.DefaultDecision
	}
	configJSON, _ := json.Marshal(config)
	ctx, stop := context.WithCancel(context.Background())
	started := false
	defer func() {
		if !started {
			stop()
		}
	}()
	store := &sealedStore{Store: inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))}
	logger := logging.New()
	logger.SetLevel(logging.Error)
	manager, err := plugins.New(configJSON, "policy-engine", store,
		plugins.InitBundles(map[string]*bundle.Bundle{opts.BundleName: b.source}),
		plugins.Info(b.runtime),
		plugins.Logger(logger),
		plugins.ConsoleLogger(logger),
		plugins.WithParserOptions(ast.ParserOptions{RegoVersion: b.regoVersion}),
	)
	if err != nil {
		return nil, newError("bundle_error", err)
	}
	if err := manager.Init(ctx); err != nil {
		manager.Stop(ctx)
		return nil, newError("bundle_error", err)
	}
	built := server.New().
		WithStore(store).
		WithManager(manager).
		WithCompilerErrorLimit(-1).
		WithRuntime(manager.Info)
	if opts.DecisionLogs {
		// As `opa run` with decision logging on: every decision gets an id (which the answer
		// carries) and is handed to the logger, here the request's collector.
		built = built.WithDecisionIDFactory(newDecisionID).WithDecisionLoggerWithErr(collectDecision)
	}
	srv, err := built.Init(ctx)
	if err != nil {
		manager.Stop(ctx)
		return nil, newError("bundle_error", err)
	}
	store.sealed.Store(true)
	started = true
	return &opaServer{handler: srv.Handler, manager: manager, stop: stop, logging: opts.DecisionLogs}, nil
}

// serve answers one request: head (JSON) and body in as two frames; out: the length-prefixed
// head (JSON), the length-prefixed decisions the request made (decision_logs.go; empty unless
// the server logs them), then the body. The request's context is cancelled after timeout (0: none).
func (s *opaServer) serve(raw []byte, timeout time.Duration) ([]byte, *bridgeError) {
	frames, berr := readFrames(raw)
	if berr != nil {
		return nil, berr
	}
	if len(frames) != 2 {
		return nil, &bridgeError{Code: "invalid_input", Message: "a request is two frames: head and body"}
	}
	var head opaRequestHead
	if err := json.Unmarshal(frames[0], &head); err != nil {
		return nil, newError("invalid_input", err)
	}
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, head.Method, head.Target, bytes.NewReader(frames[1]))
	if err != nil {
		return nil, newError("invalid_input", err)
	}
	req.RequestURI = head.Target
	for _, h := range head.Headers {
		req.Header.Add(h[0], h[1])
	}
	req.ContentLength = int64(len(frames[1]))
	var decisions *collected
	if s.logging {
		decisions = &collected{}
		req = req.WithContext(context.WithValue(req.Context(), collectedKey{}, decisions))
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	out, _ := json.Marshal(opaResponseHead{Status: rec.Code, Headers: rec.Header()})
	records := decisions.frames()
	dst := make([]byte, 0, 8+len(out)+len(records)+rec.Body.Len())
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(out)))
	dst = append(dst, out...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(records)))
	dst = append(dst, records...)
	return append(dst, rec.Body.Bytes()...), nil
}

func getOpaServer(h uint64) (*opaServer, *bridgeError) {
	v, found := handles.get(h)
	if s, isServer := v.(*opaServer); found && isServer {
		return s, nil
	}
	return nil, &bridgeError{Code: "invalid_handle", Message: "no OPA server with that handle"}
}

// certificatesJSON is what OPA's authorizer gives a policy as input.client_certificates: the
// client's certificates (framed DER) as Go's encoding/json writes []*x509.Certificate.
func certificatesJSON(raw []byte) ([]byte, *bridgeError) {
	ders, berr := readFrames(raw)
	if berr != nil {
		return nil, berr
	}
	certs := make([]*x509.Certificate, 0, len(ders))
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, newError("invalid_input", err)
		}
		certs = append(certs, c)
	}
	out, err := json.Marshal(certs)
	if err != nil {
		return nil, newError("invalid_input", err)
	}
	return out, nil
}
