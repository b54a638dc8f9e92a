package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

func TestFetchIDTokenAgainstEmulator(t *testing.T) {
	is, err := oidc.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	e := env.Env(is.Env())
	tok, err := FetchIDToken(context.Background(), nil, e, "crates.io")
	if err != nil {
		t.Fatal(err)
	}
	claims, err := is.Verify(tok, "crates.io", 0)
	if err != nil {
		t.Fatalf("emulator rejects its own token: %v", err)
	}
	if claims["repository_owner_id"] != "65" {
		t.Fatalf("numeric claims must be strings, got %#v", claims["repository_owner_id"])
	}
	dc, err := DecodeClaims(tok)
	if err != nil || ClaimString(dc, "aud") != "crates.io" {
		t.Fatalf("decode: %v %v", dc, err)
	}
	if WorkflowFile(ClaimString(dc, "workflow_ref")) != "release.yml" {
		t.Fatalf("workflow file from %q", dc["workflow_ref"])
	}
	if !strings.Contains(secret.Redact("x "+tok+" y"), secret.Mask) {
		t.Fatal("fetched token must be registered for redaction")
	}
	if _, err := is.Verify(tok, "pypi", 0); err == nil {
		t.Fatal("wrong audience must be refused")
	}

	// A wrong request token is refused with a clear error and no token text.
	bad := env.Env{"ACTIONS_ID_TOKEN_REQUEST_URL": is.RequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "wrong-token"}
	if _, err := FetchIDToken(context.Background(), nil, bad, "pypi"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("want 401 error, got %v", err)
	}
	if _, err := FetchIDToken(context.Background(), nil, env.Env{}, "pypi"); err == nil || !strings.Contains(err.Error(), "id-token") && !strings.Contains(err.Error(), "ACTIONS_ID_TOKEN_REQUEST_URL") {
		t.Fatalf("want unavailable error, got %v", err)
	}
}
