package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
)

func testClient() (*Client, *[]time.Duration) {
	var waits []time.Duration
	c := New()
	c.Policy = Policy{Attempts: 4, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Second}
	c.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	return c, &waits
}

func TestRetryPolicy(t *testing.T) {
	var in fault.Injector
	calls := 0
	srv := httptest.NewServer(in.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Header.Get("User-Agent") == "" {
			w.WriteHeader(403)
			return
		}
		w.WriteHeader(200)
	})))
	defer srv.Close()
	ctx := context.Background()
	get := func(c *Client) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/p", nil)
		_, _, err := c.Do(ctx, req, nil)
		return err
	}

	t.Run("429 honours Retry-After then succeeds", func(t *testing.T) {
		c, waits := testClient()
		in.Add(Rule429())
		if err := get(c); err != nil {
			t.Fatal(err)
		}
		if len(*waits) != 1 || (*waits)[0] != 7*time.Second {
			t.Fatalf("waits = %v, want [7s]", *waits)
		}
	})
	t.Run("503s retried with backoff", func(t *testing.T) {
		c, waits := testClient()
		in.Add(fault.Rule{Kind: fault.Status, Status: 503, Count: 2})
		if err := get(c); err != nil {
			t.Fatal(err)
		}
		if len(*waits) != 2 || (*waits)[1] != 2*(*waits)[0] {
			t.Fatalf("waits = %v, want exponential", *waits)
		}
	})
	t.Run("4xx never retried", func(t *testing.T) {
		c, waits := testClient()
		in.Add(fault.Rule{Kind: fault.Status, Status: 400, Body: `{"errors":[{"detail":"bad"}]}`})
		before := calls
		err := get(c)
		if StatusOf(err) != 400 || len(*waits) != 0 || calls != before {
			t.Fatalf("err=%v waits=%v", err, *waits)
		}
		var he *Error
		if !errors.As(err, &he) || he.Body == "" {
			t.Fatal("body must be kept")
		}
	})
	t.Run("dropped connections retried, then give up", func(t *testing.T) {
		c, waits := testClient()
		// Go's transport may itself retry an idempotent request on a reused
		// connection, so queue more drops than tries.
		in.Add(fault.Rule{Kind: fault.Drop, Count: 20})
		if err := get(c); err == nil || len(*waits) != 3 {
			t.Fatalf("err=%v waits=%v", err, *waits)
		}
		in.Clear()
	})
	t.Run("cancelled context stops", func(t *testing.T) {
		c := New()
		c.Policy = Policy{Attempts: 3, BaseDelay: time.Hour}
		in.Add(fault.Rule{Kind: fault.Status, Status: 503})
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(cctx, http.MethodGet, srv.URL+"/p", nil)
		if _, _, err := c.Do(cctx, req, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want deadline exceeded, got %v", err)
		}
		in.Clear()
	})
	t.Run("per-request deadline on a hang", func(t *testing.T) {
		c, _ := testClient()
		c.Policy.PerRequest = 50 * time.Millisecond
		c.Policy.Attempts = 2
		in.Add(fault.Rule{Kind: fault.Hang, Count: 2})
		if err := get(c); err == nil {
			t.Fatal("hang must time out")
		}
		in.Clear()
	})
}

func Rule429() fault.Rule {
	return fault.Rule{Kind: fault.Status, Status: 429, RetryAfter: "7"}
}
