// Package authstore keeps the GitHub credential `auth login` obtains: in the OS
// keyring (service "putitoutthere", user "github") when one is reachable, else
// in a file only the user can read (<config dir>/putitoutthere/credentials.json,
// mode 0600 in a 0700 directory). This is the only place the tool writes a
// token to disk (SPEC §5).
//
// PUTITOUTTHERE_CREDENTIAL_STORE=file|keyring forces one backend (tests, and
// machines whose keyring misbehaves).
package authstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Keyring coordinates.
const (
	Service = "putitoutthere"
	User    = "github"
)

// EnvStore selects the backend: "file", "keyring" or "" (auto).
const EnvStore = "PUTITOUTTHERE_CREDENTIAL_STORE"

// Backends.
const (
	BackendKeyring = "keyring"
	BackendFile    = "file"
)

// ErrNotFound means no credential is stored.
var ErrNotFound = errors.New("no GitHub credential is stored")

// ErrKeyringUnavailable means the OS keyring cannot be reached (e.g. no
// Secret Service on a headless Linux box).
var ErrKeyringUnavailable = errors.New("the OS keyring is not available")

// Credential is what login stores.
type Credential struct {
	Login            string    `json:"login"`
	AccessToken      string    `json:"access_token"`
	RefreshToken     string    `json:"refresh_token,omitempty"`
	ExpiresAt        time.Time `json:"expires_at,omitzero"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitzero"`
	ServerURL        string    `json:"server_url,omitempty"`
	APIURL           string    `json:"api_url,omitempty"`
	CreatedAt        time.Time `json:"created_at,omitzero"`
}

// Location says where a credential lives.
type Location struct {
	Backend string `json:"backend"`        // keyring | file
	Path    string `json:"path,omitempty"` // file backend only
}

func (l Location) String() string {
	if l.Backend == BackendKeyring {
		return "the OS keyring (service " + Service + ", user " + User + ")"
	}
	return l.Path + " (file, mode 0600)"
}

// Keyring is the subset of go-keyring the store uses (tests pass a fake).
type Keyring interface {
	Set(service, user, password string) error
	Get(service, user string) (string, error)
	Delete(service, user string) error
}

type osKeyring struct{}

func (osKeyring) Set(s, u, p string) error        { return keyring.Set(s, u, p) }
func (osKeyring) Get(s, u string) (string, error) { return keyring.Get(s, u) }
func (osKeyring) Delete(s, u string) error        { return keyring.Delete(s, u) }

// Store reads and writes the credential.
type Store struct {
	Mode    string // "", file or keyring
	Path    string // credentials.json
	Keyring Keyring
	// Timeout bounds one keyring call: a D-Bus that answers nothing must not
	// hang the CLI.
	Timeout time.Duration
}

// New returns the store configured by e.
func New(e env.Env) (*Store, error) {
	mode := e.Value(EnvStore)
	switch mode {
	case "", BackendFile, BackendKeyring:
	default:
		return nil, fmt.Errorf("%s=%q: want %q or %q", EnvStore, mode, BackendFile, BackendKeyring)
	}
	dir, err := ConfigDir(e)
	if err != nil {
		return nil, err
	}
	return &Store{Mode: mode, Path: filepath.Join(dir, "putitoutthere", "credentials.json"), Keyring: osKeyring{}, Timeout: 5 * time.Second}, nil
}

// ConfigDir is os.UserConfigDir computed from e (so tests and scripts that set
// HOME / XDG_CONFIG_HOME are honoured).
func ConfigDir(e env.Env) (string, error) {
	switch runtime.GOOS {
	case "windows":
		for _, k := range []string{"APPDATA", "AppData"} {
			if d := e.Value(k); d != "" {
				return d, nil
			}
		}
	case "darwin", "ios":
		if h := e.Value("HOME"); h != "" {
			return filepath.Join(h, "Library", "Application Support"), nil
		}
	default:
		if d := e.Value("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
			return d, nil
		}
		if h := e.Value("HOME"); h != "" {
			return filepath.Join(h, ".config"), nil
		}
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the user config directory: %w", err)
	}
	return d, nil
}

// call runs a keyring operation with the timeout; any failure other than
// "not found" is reported as ErrKeyringUnavailable wrapping the cause.
func (s *Store) call(f func() error) error {
	d := s.Timeout
	if d <= 0 {
		d = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, keyring.ErrNotFound) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrKeyringUnavailable, err)
	case <-ctx.Done():
		return fmt.Errorf("%w: no answer within %s", ErrKeyringUnavailable, d)
	}
}

// Save stores c, replacing any previous credential, and says where.
func (s *Store) Save(c *Credential) (Location, error) {
	secret.Register(c.AccessToken, c.RefreshToken)
	data, err := json.Marshal(c)
	if err != nil {
		return Location{}, err
	}
	if s.Mode != BackendFile {
		err := s.call(func() error { return s.Keyring.Set(Service, User, string(data)) })
		if err == nil {
			// One copy only: drop a file left by an earlier fallback.
			if s.Mode == "" {
				_ = os.Remove(s.Path)
			}
			return Location{Backend: BackendKeyring}, nil
		}
		if s.Mode == BackendKeyring {
			return Location{}, fmt.Errorf("storing the GitHub credential: %w", err)
		}
	}
	if err := writeFile(s.Path, data); err != nil {
		return Location{}, fmt.Errorf("storing the GitHub credential: %w", err)
	}
	return Location{Backend: BackendFile, Path: s.Path}, nil
}

// writeFile writes data to path with mode 0600 (dir 0700) through a temporary
// file in the same directory, so a crash never leaves a half-written file.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".credentials-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load returns the stored credential and where it was found; ErrNotFound when
// there is none.
func (s *Store) Load() (*Credential, Location, error) {
	if s.Mode != BackendFile {
		var v string
		err := s.call(func() error {
			var e error
			v, e = s.Keyring.Get(Service, User)
			return e
		})
		switch {
		case err == nil:
			c, perr := parse([]byte(v))
			if perr != nil {
				return nil, Location{Backend: BackendKeyring}, fmt.Errorf("reading the GitHub credential from the OS keyring: %w", perr)
			}
			return c, Location{Backend: BackendKeyring}, nil
		case s.Mode == BackendKeyring && errors.Is(err, keyring.ErrNotFound):
			return nil, Location{}, ErrNotFound
		case s.Mode == BackendKeyring:
			return nil, Location{}, fmt.Errorf("reading the GitHub credential: %w", err)
		}
	}
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, Location{}, ErrNotFound
	}
	loc := Location{Backend: BackendFile, Path: s.Path}
	if err != nil {
		return nil, loc, fmt.Errorf("reading the GitHub credential: %w", err)
	}
	c, err := parse(data)
	if err != nil {
		return nil, loc, fmt.Errorf("reading the GitHub credential from %s: %w", s.Path, err)
	}
	return c, loc, nil
}

func parse(data []byte) (*Credential, error) {
	var c Credential
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, errors.New("the stored credential is not valid JSON; run `putitoutthere auth logout` and log in again")
	}
	if c.AccessToken == "" {
		return nil, errors.New("the stored credential has no access token; run `putitoutthere auth login`")
	}
	secret.Register(c.AccessToken, c.RefreshToken)
	return &c, nil
}

// Delete removes the credential from every backend it may be in and returns
// the locations it was removed from (empty: there was none).
func (s *Store) Delete() ([]Location, error) {
	var removed []Location
	var errs []error
	if s.Mode != BackendFile {
		err := s.call(func() error { return s.Keyring.Delete(Service, User) })
		switch {
		case err == nil:
			removed = append(removed, Location{Backend: BackendKeyring})
		case errors.Is(err, keyring.ErrNotFound):
		case s.Mode == BackendKeyring:
			errs = append(errs, err)
		}
	}
	if s.Mode != BackendKeyring {
		err := os.Remove(s.Path)
		switch {
		case err == nil:
			removed = append(removed, Location{Backend: BackendFile, Path: s.Path})
		case errors.Is(err, os.ErrNotExist):
		default:
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("removing the GitHub credential: %w", errors.Join(errs...))
	}
	return removed, nil
}
