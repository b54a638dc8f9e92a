// Package httpx is the one HTTP client every registry client uses: a
// User-Agent, a deadline on every request, and a single retry policy
// (network errors, 429 and 5xx, honouring Retry-After; never other 4xx).
package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// UserAgent is sent on every request (crates.io refuses requests without one).
var UserAgent = "putitoutthere (+https://github.com/putitoutthere/putitoutthere)"

// Policy is how a Client retries. Tests shrink the delays.
type Policy struct {
	Attempts  int           // total tries, ≥1
	BaseDelay time.Duration // first backoff
	MaxDelay  time.Duration // cap for backoff and for Retry-After
	// PerRequest bounds silence in one try (0 = none): the try is abandoned
	// when nothing of the request body was sent and nothing of the answer
	// received for this long. An upload that keeps making progress is never
	// cut, however long it takes.
	PerRequest time.Duration
}

// DefaultPolicy: 4 tries, 1 s → 8 s backoff, Retry-After honoured up to 2 min,
// a try abandoned after 60 s without progress.
var DefaultPolicy = Policy{Attempts: 4, BaseDelay: time.Second, MaxDelay: 2 * time.Minute, PerRequest: 60 * time.Second}

// Client wraps *http.Client with the retry policy.
type Client struct {
	HTTP   *http.Client
	Policy Policy
	// Sleep waits between tries; replaced in tests. It must honour ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry, when set, is told about each retry (for progress lines).
	OnRetry func(req *http.Request, attempt int, wait time.Duration, reason string)
	// OnSend, when set, is told as a request body goes out (bytes sent of
	// total), for upload progress. It is called from the transport's
	// goroutine, often: it must be cheap.
	OnSend func(req *http.Request, sent, total int64)
}

// sendCounter reports a request body's progress to OnSend.
type sendCounter struct {
	r     io.Reader
	req   *http.Request
	sent  int64
	total int64
	f     func(req *http.Request, sent, total int64)
}

func (s *sendCounter) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.sent += int64(n)
		s.f(s.req, s.sent, s.total)
	}
	return n, err
}

// New returns a Client with DefaultPolicy.
func New() *Client {
	return &Client{HTTP: &http.Client{}, Policy: DefaultPolicy}
}

// Error is a non-2xx answer, with the status and (bounded) body kept so the
// caller can report the registry's own words.
type Error struct {
	Method     string
	URL        string
	StatusCode int
	Status     string
	Body       string
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	// Redacted before it is cut: a cut through an encoded token would leave
	// a part no mask matches.
	body := strings.TrimSpace(secret.Redact(e.Body))
	if len(body) > 500 {
		body = body[:500] + "…"
	}
	return secret.Redact(fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.URL, e.StatusCode, body))
}

// StatusOf returns the HTTP status of err (0 when err is not an *Error).
func StatusOf(err error) int {
	var he *Error
	if errors.As(err, &he) {
		return he.StatusCode
	}
	return 0
}

// Retryable reports whether status is worth retrying.
func Retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// Do sends req (with its body replayable: pass body bytes, not a stream) and
// retries per the policy. It returns the response of the last try; a non-2xx
// final answer is returned as *Error with the body read. When ok2xx is false
// the caller gets every response as-is (no *Error), but retries still apply.
func (c *Client) Do(ctx context.Context, req *http.Request, body []byte) (*http.Response, []byte, error) {
	p := c.Policy
	if p.Attempts < 1 {
		p.Attempts = 1
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", UserAgent)
	}
	var lastErr error
	for attempt := 1; attempt <= p.Attempts; attempt++ {
		tryCtx, cancel := context.WithCancelCause(ctx)
		watch := newWatchdog(p.PerRequest, cancel)
		r := req.Clone(tryCtx)
		if body != nil {
			open := func() io.Reader {
				rd := watch.reader(bytes.NewReader(body))
				if c.OnSend != nil {
					rd = &sendCounter{r: rd, req: req, total: int64(len(body)), f: c.OnSend}
				}
				return rd
			}
			r.Body = io.NopCloser(open())
			r.ContentLength = int64(len(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(open()), nil }
		}
		resp, err := c.httpClient().Do(r)
		var respBody []byte
		if err == nil {
			respBody, err = io.ReadAll(io.LimitReader(watch.reader(resp.Body), 32<<20))
			resp.Body.Close()
		}
		watch.stop()
		if err != nil && errors.Is(context.Cause(tryCtx), ErrIdle) && ctx.Err() == nil {
			err = fmt.Errorf("%w (%s)", ErrIdle, p.PerRequest)
		}
		cancel(nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			lastErr = fmt.Errorf("%s %s: %w", req.Method, redactURL(req.URL.String()), err)
			if attempt == p.Attempts {
				break
			}
			wait := c.backoff(attempt)
			if serr := c.wait(ctx, req, attempt, wait, err.Error()); serr != nil {
				return nil, nil, serr
			}
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, respBody, nil
		}
		he := &Error{Method: req.Method, URL: redactURL(req.URL.String()), StatusCode: resp.StatusCode, Status: resp.Status, Body: string(respBody), RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
		if !Retryable(resp.StatusCode) || attempt == p.Attempts {
			return resp, respBody, he
		}
		lastErr = he
		wait := c.backoff(attempt)
		if he.RetryAfter > 0 {
			wait = he.RetryAfter
		}
		if wait > p.MaxDelay && p.MaxDelay > 0 {
			wait = p.MaxDelay
		}
		if serr := c.wait(ctx, req, attempt, wait, resp.Status); serr != nil {
			return nil, nil, serr
		}
	}
	return nil, nil, lastErr
}

// ErrIdle: a try made no progress for the policy's PerRequest (callers
// that have a time budget report it as the budget running out).
var ErrIdle = errors.New("no data sent or received")

// watchdog cancels a try after d without progress; every read of the request
// body (the transport sending it) or of the answer counts as progress.
type watchdog struct {
	d time.Duration
	t *time.Timer
}

func newWatchdog(d time.Duration, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{d: d}
	if d > 0 {
		w.t = time.AfterFunc(d, func() { cancel(ErrIdle) })
	}
	return w
}

func (w *watchdog) touch() {
	if w.t != nil {
		w.t.Reset(w.d)
	}
}

func (w *watchdog) stop() {
	if w.t != nil {
		w.t.Stop()
	}
}

func (w *watchdog) reader(r io.Reader) io.Reader { return &progressReader{r: r, w: w} }

type progressReader struct {
	r io.Reader
	w *watchdog
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.touch()
	}
	return n, err
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) backoff(attempt int) time.Duration {
	d := time.Duration(float64(c.Policy.BaseDelay) * math.Pow(2, float64(attempt-1)))
	if c.Policy.MaxDelay > 0 && d > c.Policy.MaxDelay {
		d = c.Policy.MaxDelay
	}
	return d
}

func (c *Client) wait(ctx context.Context, req *http.Request, attempt int, d time.Duration, reason string) error {
	if c.OnRetry != nil {
		c.OnRetry(req, attempt, d, reason)
	}
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryAfter parses delta-seconds or an HTTP-date.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// redactURL drops userinfo and scrubs registered secrets from a URL.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.Index(rest, "@"); at >= 0 && at < strings.IndexAny(rest+"/", "/") {
			u = u[:i+3] + rest[at+1:]
		}
	}
	return secret.Redact(u)
}
