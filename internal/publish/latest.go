package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/putitoutthere/putitoutthere/internal/httpx"
)

// Latester is implemented by handlers that can say which version the
// registry considers the latest (for `status`). exists is false when the
// package is not on the registry at all.
type Latester interface {
	Latest(ctx context.Context, name string) (version string, exists bool, err error)
}

// GetJSON fetches url into v with the shared retry policy; a 404 is
// reported as found == false.
func GetJSON(ctx context.Context, h *httpx.Client, url string, v any) (found bool, err error) {
	if h == nil {
		h = httpx.New()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/json")
	_, body, err := h.Do(ctx, req, nil)
	if httpx.StatusOf(err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("GET %s: %w", url, err)
	}
	return true, nil
}
