package main

import (
	"encoding/binary"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"
)

func request(method, target, body string) []byte {
	head, _ := json.Marshal(opaRequestHead{Method: method, Target: target})
	out := binary.LittleEndian.AppendUint32(nil, uint32(len(head)))
	out = append(out, head...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

// served serves one request: the answer's head, its decision records and its body.
func served(t *testing.T, s *opaServer, method, target, body string) (opaResponseHead, []byte, string) {
	t.Helper()
	out, berr := s.serve(request(method, target, body), 0)
	if berr != nil {
		t.Fatal(berr)
	}
	n := binary.LittleEndian.Uint32(out)
	var head opaResponseHead
	if err := json.Unmarshal(out[4:4+n], &head); err != nil {
		t.Fatal(err)
	}
	rest := out[4+n:]
	size := binary.LittleEndian.Uint32(rest)
	return head, rest[4 : 4+size], string(rest[4+size:])
}

func answered(t *testing.T, s *opaServer, method, target, body string) (int, string) {
	t.Helper()
	head, _, answer := served(t, s, method, target, body)
	return head.Status, answer
}

// shippedServer is OPA's server over the shipped bundle, configured by config.
func shippedServer(t *testing.T, config string) *opaServer {
	t.Helper()
	b, berr := loadBundle(loadRequest("../policy/bundle"))
	if berr != nil {
		t.Fatal(berr)
	}
	s, berr := b.opaServer([]byte(config))
	if berr != nil {
		t.Fatal(berr)
	}
	return s
}

func TestOpaServerAnswersAsOpa(t *testing.T) {
	s := shippedServer(t, `{"bundle_name": "bundle"}`)
	cases := []struct {
		method, target, body string
		status               int
		contains             string
	}{
		{"GET", "/v1/data/acgs/config/max_harm_risk?explain=notes", "", 200, `"explanation":[]`},
		{"GET", "/v1/query?q=x%3D1", "", 200, `{"result":[{"x":1}]}`},
		{"PUT", "/v1/data/acgs/x", "1", 400, `path acgs/x is owned by bundle \"bundle\"`},
		{"PUT", "/v1/data/elsewhere", "1", 400, "writes through the REST API are refused"},
		{"PUT", "/v1/policies/p", "package elsewhere", 400, "writes through the REST API are refused"},
	}
	for _, c := range cases {
		status, body := answered(t, s, c.method, c.target, c.body)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s: %d %s", c.method, c.target, status, body)
		}
	}
	// A refused write changed nothing.
	if _, body := answered(t, s, "GET", "/v1/data/elsewhere", ""); body != "{}\n" {
		t.Errorf("the refused write is visible: %s", body)
	}
}

func TestReleasedOpaServersLeaveNoGoroutines(t *testing.T) {
	b, berr := loadBundle(loadRequest("../policy/bundle"))
	if berr != nil {
		t.Fatal(berr)
	}
	before := runtime.NumGoroutine()
	for range 20 {
		s, berr := b.opaServer([]byte(`{"bundle_name": "bundle"}`))
		if berr != nil {
			t.Fatal(berr)
		}
		handles.drop(handles.put(s))
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<16)
		t.Log(string(buf[:runtime.Stack(buf, true)]))
		t.Fatalf("%d goroutines before, %d after 20 servers released", before, n)
	}
}
