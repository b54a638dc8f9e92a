package fault

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestInjector(t *testing.T) {
	var in Injector
	var calls atomic.Int32
	srv := httptest.NewServer(in.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.WriteString(w, "ok")
	})))
	defer srv.Close()
	get := func() (*http.Response, error) { return http.Get(srv.URL + "/x") }

	in.Add(Rule{Kind: Status, Status: 429, RetryAfter: "3", Count: 2})
	for i := 0; i < 2; i++ {
		resp, err := get()
		if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
			t.Fatalf("want 429 with Retry-After, got %v %v", resp, err)
		}
		resp.Body.Close()
	}
	resp, err := get()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("third request should pass: %v %v", resp, err)
	}
	resp.Body.Close()

	in.Add(Rule{Kind: LandThenFail, Status: 502})
	before := calls.Load()
	resp, err = get()
	if err != nil || resp.StatusCode != 502 || calls.Load() != before+1 {
		t.Fatalf("land-then-fail: status %v err %v calls %d->%d", resp, err, before, calls.Load())
	}
	resp.Body.Close()

	in.Add(Rule{Kind: Drop})
	if _, err := get(); err == nil {
		t.Fatal("drop should fail the request")
	}

	in.Add(Rule{Kind: Hang, PathPrefix: "/x"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("hang should time out")
	}
	if in.Hits() != 5 {
		t.Fatalf("hits = %d, want 5", in.Hits())
	}
}

func TestRecord(t *testing.T) {
	var in Injector
	srv := httptest.NewServer(in.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(422)
		_, _ = io.WriteString(w, `{"message":"Token request failed"}`)
	})))
	defer srv.Close()
	resp, _ := http.Get(srv.URL + "/before")
	resp.Body.Close()
	in.Record(true)
	resp, _ = http.Post(srv.URL+"/_/oidc/mint-token", "application/json", nil)
	resp.Body.Close()
	in.Add(Rule{Kind: Drop})
	_, _ = http.Get(srv.URL + "/dropped")
	// The handler records after the connection is gone; wait for it.
	log := in.Log()
	for i := 0; i < 200 && len(log) < 2; i++ {
		time.Sleep(5 * time.Millisecond)
		log = in.Log()
	}
	if len(log) != 2 || log[0].Path != "/_/oidc/mint-token" || log[0].Status != 422 || log[0].Body != `{"message":"Token request failed"}` {
		t.Fatalf("log = %+v", log)
	}
	if log[1].Path != "/dropped" || log[1].Status != -1 {
		t.Fatalf("a dropped connection is recorded with status -1: %+v", log[1])
	}
}

func TestLandThenHang(t *testing.T) {
	var in Injector
	var landed atomic.Int32
	srv := httptest.NewServer(in.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { landed.Add(1) })))
	defer srv.Close()
	in.Add(Rule{Kind: LandThenHang})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/x", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the client must not hear back")
	}
	if n := landed.Load(); n != 1 {
		t.Fatalf("the request must take effect once, took %d", n)
	}
}
