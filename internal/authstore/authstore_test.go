package authstore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/putitoutthere/putitoutthere/internal/env"
)

type fakeKeyring struct {
	m    map[string]string
	fail error
	hang bool
}

func (f *fakeKeyring) Set(s, u, p string) error {
	if f.hang {
		select {}
	}
	if f.fail != nil {
		return f.fail
	}
	f.m[s+"/"+u] = p
	return nil
}

func (f *fakeKeyring) Get(s, u string) (string, error) {
	if f.fail != nil {
		return "", f.fail
	}
	v, ok := f.m[s+"/"+u]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (f *fakeKeyring) Delete(s, u string) error {
	if f.fail != nil {
		return f.fail
	}
	if _, ok := f.m[s+"/"+u]; !ok {
		return keyring.ErrNotFound
	}
	delete(f.m, s+"/"+u)
	return nil
}

func newStore(t *testing.T, mode string, kr Keyring) (*Store, string) {
	t.Helper()
	home := t.TempDir()
	s, err := New(env.Env{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "xdg"), EnvStore: mode})
	if err != nil {
		t.Fatal(err)
	}
	s.Keyring = kr
	s.Timeout = 100 * time.Millisecond
	return s, home
}

var cred = &Credential{Login: "octocat", AccessToken: "ghu_accessaccessaccess", RefreshToken: "ghr_refreshrefresh", ExpiresAt: time.Unix(1_800_000_000, 0).UTC()}

func TestFileFallbackWhenNoKeyring(t *testing.T) {
	s, home := newStore(t, "", &fakeKeyring{fail: errors.New(`exec: "dbus-launch": executable file not found in $PATH`)})
	loc, err := s.Save(cred)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(home, "xdg", "putitoutthere", "credentials.json")
	if loc.Backend != BackendFile || loc.Path != want {
		t.Fatalf("location = %+v", loc)
	}
	fi, err := os.Stat(want)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode = %v, %v", fi.Mode(), err)
	}
	di, _ := os.Stat(filepath.Dir(want))
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode = %v", di.Mode())
	}
	// Only the credential file was written.
	var files []string
	_ = filepath.Walk(home, func(p string, info os.FileInfo, _ error) error {
		if !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Fatalf("files written: %v", files)
	}
	got, loc2, err := s.Load()
	if err != nil || got.AccessToken != cred.AccessToken || !got.ExpiresAt.Equal(cred.ExpiresAt) || loc2 != loc {
		t.Fatalf("load = %+v %+v %v", got, loc2, err)
	}
	removed, err := s.Delete()
	if err != nil || len(removed) != 1 {
		t.Fatalf("delete = %v %v", removed, err)
	}
	if _, _, err := s.Load(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestKeyringPreferred(t *testing.T) {
	kr := &fakeKeyring{m: map[string]string{}}
	s, _ := newStore(t, "", kr)
	loc, err := s.Save(cred)
	if err != nil || loc.Backend != BackendKeyring {
		t.Fatalf("%+v %v", loc, err)
	}
	if _, err := os.Stat(s.Path); !os.IsNotExist(err) {
		t.Fatal("file written although the keyring worked")
	}
	if _, ok := kr.m[Service+"/"+User]; !ok {
		t.Fatal("not in keyring")
	}
	got, loc, err := s.Load()
	if err != nil || got.Login != "octocat" || loc.Backend != BackendKeyring {
		t.Fatalf("%+v %+v %v", got, loc, err)
	}
	if removed, _ := s.Delete(); len(removed) != 1 || removed[0].Backend != BackendKeyring {
		t.Fatalf("removed %v", removed)
	}
}

func TestHangingKeyringFallsBack(t *testing.T) {
	s, _ := newStore(t, "", &fakeKeyring{hang: true})
	loc, err := s.Save(cred)
	if err != nil || loc.Backend != BackendFile {
		t.Fatalf("%+v %v", loc, err)
	}
}

func TestForcedModes(t *testing.T) {
	kr := &fakeKeyring{fail: errors.New("no dbus")}
	s, _ := newStore(t, BackendKeyring, kr)
	if _, err := s.Save(cred); !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("forced keyring without one: %v", err)
	}
	kr2 := &fakeKeyring{m: map[string]string{}}
	s2, _ := newStore(t, BackendFile, kr2)
	if loc, err := s2.Save(cred); err != nil || loc.Backend != BackendFile || len(kr2.m) != 0 {
		t.Fatalf("forced file: %+v %v", loc, err)
	}
	if _, err := New(env.Env{EnvStore: "vault"}); err == nil {
		t.Fatal("bad mode accepted")
	}
}

func TestCorruptFile(t *testing.T) {
	s, _ := newStore(t, BackendFile, nil)
	_ = os.MkdirAll(filepath.Dir(s.Path), 0o700)
	_ = os.WriteFile(s.Path, []byte("{nope"), 0o600)
	if _, _, err := s.Load(); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}
