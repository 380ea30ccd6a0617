// Package main is the C-ABI bridge that embeds OPA in the Python service.
//
// Every exported function returns a status (statusOK, statusUndefined or statusError) and
// writes its answer, JSON bytes allocated with malloc, to *out; the caller frees it with
// pe_free. Errors are {"code": ..., "message": ...}. Panics are recovered into errors so
// that a bug in OPA or here never takes the Python process down.
package main

/*
#include <stdlib.h>
#include <stdint.h>
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"
	"unsafe"
)

const (
	statusOK        = 0
	statusUndefined = 1
	statusError     = 2
)

// bridgeError is an error with a stable code that the Python side maps to an exception.
type bridgeError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Stack is a recovered panic's Go stack: for the service's log, never for a client.
	Stack string `json:"stack,omitempty"`
}

func (e *bridgeError) Error() string { return e.Code + ": " + e.Message }

func newError(code string, err error) *bridgeError {
	return &bridgeError{Code: code, Message: err.Error()}
}

// answer is what one exported call produces before it crosses to C.
type answer struct {
	status int
	body   []byte
}

func ok(v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		return fail(newError("internal_error", err))
	}
	return answer{statusOK, b}
}

func fail(e *bridgeError) answer {
	return answer{statusError, errorJSON(e)}
}

func errorJSON(e *bridgeError) []byte {
	b, _ := json.Marshal(e)
	return b
}

// panicJSON is the error a recovered panic becomes. Its stack travels in its own field, for
// the caller to log (in the service's log format) and never to put into an answer.
func panicJSON(r any) []byte {
	return errorJSON(&bridgeError{
		Code:    "internal_error",
		Message: fmt.Sprintf("internal error in the policy engine: %v", r),
		Stack:   string(debug.Stack()),
	})
}

// guard runs f, turning a panic into an internal_error answer, and copies the answer to C memory.
func guard(out **C.char, outLen *C.int, f func() answer) (status C.int) {
	defer func() {
		if r := recover(); r != nil {
			status = emit(answer{statusError, panicJSON(r)}, out, outLen)
		}
	}()
	return emit(f(), out, outLen)
}

func emit(a answer, out **C.char, outLen *C.int) C.int {
	if len(a.body) == 0 {
		*out = nil
		*outLen = 0
	} else {
		*out = (*C.char)(C.CBytes(a.body))
		*outLen = C.int(len(a.body))
	}
	return C.int(a.status)
}

func goBytes(p *C.char, n C.int) []byte {
	if p == nil || n <= 0 {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(p), n)
}

//export pe_free
func pe_free(p unsafe.Pointer) { C.free(p) }

//export pe_version
func pe_version(out **C.char, outLen *C.int) C.int {
	return guard(out, outLen, func() answer { return ok(versionInfo()) })
}

//export pe_load_bundle
func pe_load_bundle(options *C.char, optionsLen C.int, handle *C.uint64_t, out **C.char, outLen *C.int) C.int {
	return guard(out, outLen, func() answer {
		b, err := loadBundle(goBytes(options, optionsLen))
		if err != nil {
			return fail(err)
		}
		*handle = C.uint64_t(handles.put(b))
		return ok(b.info)
	})
}

//export pe_prepare
func pe_prepare(bundle C.uint64_t, query *C.char, queryLen C.int, handle *C.uint64_t, out **C.char, outLen *C.int) C.int {
	return guard(out, outLen, func() answer {
		b, err := getBundle(uint64(bundle))
		if err != nil {
			return fail(err)
		}
		q, err := b.prepare(string(goBytes(query, queryLen)))
		if err != nil {
			return fail(err)
		}
		*handle = C.uint64_t(handles.put(q))
		return ok(q.info)
	})
}

//export pe_prepare_partial
func pe_prepare_partial(bundle C.uint64_t, request *C.char, requestLen C.int, handle *C.uint64_t, out **C.char, outLen *C.int) C.int {
	return guard(out, outLen, func() answer {
		b, err := getBundle(uint64(bundle))
		if err != nil {
			return fail(err)
		}
		q, err := b.preparePartial(goBytes(request, requestLen))
		if err != nil {
			return fail(err)
		}
		*handle = C.uint64_t(handles.put(q))
		return ok(q.info)
	})
}

//export pe_compile
func pe_compile(bundle C.uint64_t, request *C.char, requestLen C.int, timeoutUS C.int64_t, out **C.char, outLen *C.int) C.int {
	return guard(out, outLen, func() answer {
		b, err := getBundle(uint64(bundle))
		if err != nil {
			return fail(err)
		}
		res, err := b.compile(goBytes(request, requestLen), time.Duration(timeoutUS)*time.Microsecond)
		if err != nil {
			return fail(err)
		}
		return ok(res)
	})
}

//export pe_eval
func pe_eval(query C.uint64_t, input *C.char, inputLen C.int, timeoutUS C.int64_t, out **C.char, outLen *C.int) C.int {
	return guard(out, outLen, func() answer {
		q, err := getQuery(uint64(query))
		if err != nil {
			return fail(err)
		}
		var raw []byte
		if inputLen >= 0 {
			raw = goBytes(input, inputLen)
			if raw == nil {
				return fail(&bridgeError{Code: "invalid_input", Message: "empty input"})
			}
		}
		result, defined, berr := q.eval(raw, time.Duration(timeoutUS)*time.Microsecond)
		switch {
		case berr != nil:
			return fail(berr)
		case !defined:
			return answer{statusUndefined, nil}
		default:
			return answer{statusOK, result}
		}
	})
}

//export pe_eval_many
func pe_eval_many(query C.uint64_t, inputs *C.char, inputsLen C.int, timeoutUS C.int64_t, out **C.char, outLen *C.int) C.int {
	return guard(out, outLen, func() answer {
		q, err := getQuery(uint64(query))
		if err != nil {
			return fail(err)
		}
		body, berr := q.evalMany(goBytes(inputs, inputsLen), time.Duration(timeoutUS)*time.Microsecond)
		if berr != nil {
			return fail(berr)
		}
		return answer{statusOK, body}
	})
}

// pe_key answers the cache key material of an input for a prepared query: the canonical
// JSON of the input projected onto the paths the query reads (key.go).
//
//export pe_key
func pe_key(query C.uint64_t, input *C.char, inputLen C.int, out **C.char, outLen *C.int) C.int {
	return guard(out, outLen, func() answer {
		q, err := getQuery(uint64(query))
		if err != nil {
			return fail(err)
		}
		key, berr := q.cacheKey(goBytes(input, inputLen))
		if berr != nil {
			return fail(berr)
		}
		return answer{statusOK, key}
	})
}

//export pe_release
func pe_release(handle C.uint64_t) { handles.drop(uint64(handle)) }

// pe_selftest_panic panics inside the guard: the tests use it to prove that a Go panic
// comes back as an internal_error and never takes the process down.
//
//export pe_selftest_panic
func pe_selftest_panic(out **C.char, outLen *C.int) C.int {
	return guard(out, outLen, func() answer { panic("self-test panic") })
}

func main() {}
