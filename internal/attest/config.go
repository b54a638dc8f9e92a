package attest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

// Environment variables that point the signer at another Sigstore (the
// rehearsal's emulator, or a private deployment).
const (
	EnvFulcioURL   = "PUTITOUTTHERE_SIGSTORE_FULCIO_URL"
	EnvRekorURL    = "PUTITOUTTHERE_SIGSTORE_REKOR_URL"
	EnvTrustedRoot = "PUTITOUTTHERE_SIGSTORE_TRUSTED_ROOT" // URL or file of trusted_root.json
)

// Sigstore's public-good instance, which PyPI trusts.
const (
	DefaultFulcioURL = "https://fulcio.sigstore.dev"
	DefaultRekorURL  = "https://rekor.sigstore.dev"
)

// Endpoints reads the Fulcio and Rekor URLs from the environment.
func Endpoints(e env.Env) (fulcio, rekor string) {
	fulcio, rekor = e.Value(EnvFulcioURL), e.Value(EnvRekorURL)
	if fulcio == "" {
		fulcio = DefaultFulcioURL
	}
	if rekor == "" {
		rekor = DefaultRekorURL
	}
	return strings.TrimRight(fulcio, "/"), strings.TrimRight(rekor, "/")
}

// TrustedRoot loads the trust root named by PUTITOUTTHERE_SIGSTORE_TRUSTED_ROOT
// (an http(s) URL or a file), or else the public-good root through
// Sigstore's TUF repository.
func TrustedRoot(ctx context.Context, e env.Env, c *http.Client) (root.TrustedMaterial, error) {
	src := e.Value(EnvTrustedRoot)
	if src == "" {
		return root.FetchTrustedRoot()
	}
	var doc []byte
	var err error
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		if c == nil {
			c = http.DefaultClient
		}
		req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if rerr != nil {
			return nil, rerr
		}
		resp, rerr := c.Do(req)
		if rerr != nil {
			return nil, rerr
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: HTTP %d", src, resp.StatusCode)
		}
		doc, err = io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	} else {
		doc, err = os.ReadFile(src)
	}
	if err != nil {
		return nil, err
	}
	return root.NewTrustedRootFromJSON(doc)
}
