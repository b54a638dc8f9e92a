package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// slowConn is a slow uplink: every write of more than 4 KiB is cut to 4 KiB
// and takes 20 ms.
type slowConn struct{ net.Conn }

func (c slowConn) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k := min(len(b), 4<<10)
		time.Sleep(20 * time.Millisecond)
		m, err := c.Conn.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		b = b[k:]
	}
	return n, nil
}

// An upload that keeps making progress is not cut by the per-try deadline,
// however long it takes: 160 KiB at 200 KiB/s is ~0.8 s against a 250 ms
// bound on silence. Before, every try was killed and the server received the
// file once per try.
func TestSlowUploadMakingProgressSucceeds(t *testing.T) {
	var received atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err == nil && len(b) == 160<<10 {
			received.Add(1)
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	c, waits := testClient()
	c.Policy.PerRequest = 250 * time.Millisecond
	d := &net.Dialer{}
	c.HTTP = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return slowConn{conn}, nil
	}}}
	body := bytes.Repeat([]byte("w"), 160<<10)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/upload", nil)
	start := time.Now()
	if _, _, err := c.Do(context.Background(), req, body); err != nil {
		t.Fatalf("slow upload failed after %s: %v", time.Since(start), err)
	}
	if time.Since(start) < 500*time.Millisecond {
		t.Fatalf("the upload was not slow (%s): the test proves nothing", time.Since(start))
	}
	if len(*waits) != 0 || received.Load() != 1 {
		t.Fatalf("retries %v, server received the file %d times", *waits, received.Load())
	}
}

// A server that goes silent is abandoned after the bound, and the error says so.
func TestSilentServerIsAbandoned(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, waits := testClient()
	c.Policy.Attempts = 2
	c.Policy.PerRequest = 150 * time.Millisecond
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/idle", nil)
	start := time.Now()
	_, _, err := c.Do(context.Background(), req, nil)
	if err == nil || !errors.Is(err, ErrIdle) || !strings.Contains(err.Error(), "no data sent or received") {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 2*time.Second || len(*waits) != 1 {
		t.Fatalf("took %s with %d retries", el, len(*waits))
	}
}
