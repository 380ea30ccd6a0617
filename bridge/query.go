package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// queryInfo describes a prepared query to the Python side.
type queryInfo struct {
	Query    string   `json:"query"`
	Reads    reads    `json:"reads"`
	Residual []string `json:"residual,omitempty"`
}

// preparedQuery is compiled once per (bundle revision, entrypoint) and evaluated many times;
// rego.PreparedEvalQuery is safe for concurrent use.
type preparedQuery struct {
	pq   rego.PreparedEvalQuery
	info queryInfo
	trie pathTrie // the read paths, for cache keys
}

func newPreparedQuery(query string, pq rego.PreparedEvalQuery, r reads) *preparedQuery {
	return &preparedQuery{pq: pq, info: queryInfo{Query: query, Reads: r}, trie: newPathTrie(r.Paths)}
}

// noMetrics: OPA otherwise builds a metrics registry and runs its timers on every evaluation.
var noMetrics = rego.EvalMetrics(metrics.NoOp())

// neverCancelled stands in for the per-evaluation goroutine OPA otherwise starts to watch the
// context, for evaluations without a deadline.
var neverCancelled = topdown.NewCancel()

// deadline is OPA's cancellation after a timeout, without the goroutine a context deadline
// costs: a timer that cancels (stop it when done). A zero timeout never cancels.
func deadline(timeout time.Duration) (topdown.Cancel, func() bool) {
	if timeout <= 0 {
		return neverCancelled, func() bool { return false }
	}
	cancel := topdown.NewCancel()
	return cancel, time.AfterFunc(timeout, cancel.Cancel).Stop
}

// timeoutError is what a cancelled evaluation answers: Python may retry it off its event loop.
func timeoutError(timeout time.Duration) *bridgeError {
	return &bridgeError{Code: "eval_timeout", Message: fmt.Sprintf("evaluation cancelled after %s", timeout)}
}

// eval evaluates one input (nil: no input) within timeout (0: none). It answers the JSON of
// the first expression's value of the first result, or defined=false when the query is undefined.
func (q *preparedQuery) eval(raw []byte, timeout time.Duration) (result []byte, defined bool, berr *bridgeError) {
	cancel, stop := deadline(timeout)
	defer stop()
	return q.evalWith(raw, cancel, timeout)
}

func (q *preparedQuery) evalWith(raw []byte, cancel topdown.Cancel, timeout time.Duration) ([]byte, bool, *bridgeError) {
	opts := make([]rego.EvalOption, 0, 4)
	opts = append(opts, rego.EvalExternalCancel(cancel), noMetrics, keepTerm)
	if raw != nil {
		v, err := parseInput(raw)
		if err != nil {
			return nil, false, newError("invalid_input", err)
		}
		opts = append(opts, rego.EvalParsedInput(v))
	}
	rs, err := q.pq.Eval(context.Background(), opts...)
	if err != nil {
		if topdown.IsCancel(err) {
			return nil, false, timeoutError(timeout)
		}
		return nil, false, newError("eval_error", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, false, nil
	}
	out, err := expressionJSON(rs[0].Expressions[0].Value)
	if err != nil {
		return nil, false, newError("eval_error", err)
	}
	return out, true, nil
}

// evalMany evaluates framed inputs (see frames) in parallel goroutines and answers one
// frame per input, in order: its status, then the result's JSON or the error's. Each item
// is parsed and evaluated on its own, so one bad item never changes another's answer.
//
// One deadline covers the whole batch: items it cancels answer eval_timeout each.
func (q *preparedQuery) evalMany(raw []byte, timeout time.Duration) ([]byte, *bridgeError) {
	inputs, berr := readFrames(raw)
	if berr != nil {
		return nil, berr
	}
	cancel, stop := deadline(timeout)
	defer stop()
	statuses := make([]byte, len(inputs))
	bodies := make([][]byte, len(inputs))
	parallel(len(inputs), func(i int) { statuses[i], bodies[i] = q.evalItem(inputs[i], cancel, timeout) })
	out := make([]byte, 0, 64*len(inputs))
	for i := range inputs {
		out = appendFrame(out, statuses[i], bodies[i])
	}
	return out, nil
}

func (q *preparedQuery) evalItem(input []byte, cancel topdown.Cancel, timeout time.Duration) (status byte, body []byte) {
	defer func() {
		if r := recover(); r != nil {
			status, body = statusError, panicJSON(r)
		}
	}()
	result, defined, berr := q.evalWith(input, cancel, timeout)
	switch {
	case berr != nil:
		return statusError, errorJSON(berr)
	case !defined:
		return statusUndefined, nil
	default:
		return statusOK, result
	}
}

// parallel runs f(0..n-1) on up to GOMAXPROCS goroutines.
func parallel(n int, f func(int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	wg.Wait()
}
