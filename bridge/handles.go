package main

import (
	"fmt"
	"sync"
)

// registry maps the opaque integers handed to Python onto Go objects, so that no Go pointer
// ever crosses the C boundary. Safe for concurrent use.
type registry struct {
	mu    sync.RWMutex
	next  uint64
	items map[uint64]any
}

var handles = &registry{items: map[uint64]any{}}

func (r *registry) put(v any) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.items[r.next] = v
	return r.next
}

func (r *registry) get(h uint64) (any, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, found := r.items[h]
	return v, found
}

func (r *registry) drop(h uint64) {
	r.mu.Lock()
	v := r.items[h]
	delete(r.items, h)
	r.mu.Unlock()
	if held, ok := v.(interface{ release() }); ok {
		held.release() // what holds more than memory (an OPA server's background work)
	}
}

func getBundle(h uint64) (*bundleState, *bridgeError) {
	v, found := handles.get(h)
	if b, isBundle := v.(*bundleState); found && isBundle {
		return b, nil
	}
	return nil, &bridgeError{Code: "invalid_handle", Message: fmt.Sprintf("no bundle with handle %d", h)}
}

func getQuery(h uint64) (*preparedQuery, *bridgeError) {
	v, found := handles.get(h)
	if q, isQuery := v.(*preparedQuery); found && isQuery {
		return q, nil
	}
	return nil, &bridgeError{Code: "invalid_handle", Message: fmt.Sprintf("no prepared query with handle %d", h)}
}
