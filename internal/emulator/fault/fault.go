// Package fault injects failures into an emulator's HTTP handler so retry,
// resume and timeout logic can be tested: the next N matching requests fail
// with a status, hang, drop the connection, or land and then report failure.
package fault

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Kind of fault.
type Kind int

const (
	// Status answers with Status (and RetryAfter, Body) without calling the handler.
	Status Kind = iota
	// Hang blocks until the client gives up (its context ends) or Release is called.
	Hang
	// Drop closes the connection without an answer, before the handler runs.
	Drop
	// LandThenFail runs the handler (the request takes effect), then answers with
	// Status (default 500) instead of the real answer.
	LandThenFail
	// LandThenDrop runs the handler, then closes the connection without an answer.
	LandThenDrop
	// LandThenHang runs the handler, then blocks like Hang: the request took
	// effect but the client never hears so (a process killed mid-upload).
	LandThenHang
)

// Rule describes one fault.
type Rule struct {
	Method     string // "" matches any
	PathPrefix string // "" matches any
	Kind       Kind
	Status     int
	RetryAfter string // value of Retry-After, e.g. "1"
	Body       string
	Count      int // how many matching requests to affect; 0 means 1
}

// Injector holds pending faults. The zero value is ready to use.
type Injector struct {
	mu      sync.Mutex
	rules   []*Rule
	hits    int
	release chan struct{}

	recording bool
	log       []Exchange
}

// Exchange is one recorded request and the answer the emulator gave.
type Exchange struct {
	Method string
	Path   string
	Status int
	// Body is the start of the answer (error bodies are short; success bodies
	// are cut at 2 KiB).
	Body string
	// Fault is set when the answer was injected.
	Fault bool
}

// Record turns the request log on or off (rehearsal prints it).
func (in *Injector) Record(on bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.recording = on
}

// Log returns the recorded exchanges in order.
func (in *Injector) Log() []Exchange {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Exchange(nil), in.log...)
}

func (in *Injector) record(x Exchange) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.recording {
		in.log = append(in.log, x)
	}
}

// recorder keeps the status and the start of the body of an answer.
type recorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if room := 2048 - len(r.body); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		r.body = append(r.body, p[:room]...)
	}
	return r.ResponseWriter.Write(p)
}

// Hijack lets Drop and handlers that write their own status line work
// through the recorder.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	if r.status == 0 {
		r.status = -1 // answered on the raw connection
	}
	return hj.Hijack()
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Add queues a fault.
func (in *Injector) Add(r Rule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if r.Count <= 0 {
		r.Count = 1
	}
	in.rules = append(in.rules, &r)
}

// Clear removes all pending faults and releases hung requests.
func (in *Injector) Clear() {
	in.mu.Lock()
	in.rules = nil
	in.mu.Unlock()
	in.Release()
}

// Release lets every hung request finish (with 504).
func (in *Injector) Release() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.release != nil {
		close(in.release)
		in.release = nil
	}
}

// Hits is the number of requests a fault was applied to.
func (in *Injector) Hits() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.hits
}

func (in *Injector) take(r *http.Request) (*Rule, chan struct{}) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, rule := range in.rules {
		if rule.Method != "" && !strings.EqualFold(rule.Method, r.Method) {
			continue
		}
		if rule.PathPrefix != "" && !strings.HasPrefix(r.URL.Path, rule.PathPrefix) {
			continue
		}
		rule.Count--
		if rule.Count <= 0 {
			in.rules = append(in.rules[:i], in.rules[i+1:]...)
		}
		in.hits++
		if in.release == nil {
			in.release = make(chan struct{})
		}
		c := *rule
		return &c, in.release
	}
	return nil, nil
}

// Wrap returns h with fault injection in front of it.
func (in *Injector) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		rec := in.recording
		in.mu.Unlock()
		if rec {
			rw := &recorder{ResponseWriter: w}
			w = rw
			defer func() {
				in.record(Exchange{Method: r.Method, Path: r.URL.EscapedPath(), Status: rw.status, Body: string(rw.body)})
			}()
		}
		rule, release := in.take(r)
		if rule == nil {
			h.ServeHTTP(w, r)
			return
		}
		switch rule.Kind {
		case Status:
			writeStatus(w, rule)
		case Hang:
			select {
			case <-r.Context().Done():
			case <-release:
				w.WriteHeader(http.StatusGatewayTimeout)
			}
		case Drop:
			drop(w)
		case LandThenFail:
			h.ServeHTTP(httptest.NewRecorder(), r)
			if rule.Status == 0 {
				rule.Status = http.StatusInternalServerError
			}
			writeStatus(w, rule)
		case LandThenDrop:
			h.ServeHTTP(httptest.NewRecorder(), r)
			drop(w)
		case LandThenHang:
			h.ServeHTTP(httptest.NewRecorder(), r)
			select {
			case <-r.Context().Done():
			case <-release:
				w.WriteHeader(http.StatusGatewayTimeout)
			}
		}
	})
}

func writeStatus(w http.ResponseWriter, rule *Rule) {
	if rule.RetryAfter != "" {
		w.Header().Set("Retry-After", rule.RetryAfter)
	}
	status := rule.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	body := rule.Body
	if body == "" {
		body = http.StatusText(status)
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
