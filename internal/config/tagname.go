package config

import (
	"fmt"
	"strings"
)

// MaxTagComponent is the longest path component a tag may have: git stores
// refs/tags/<tag> as files (and takes <component>.lock while writing one), and
// file names are at most 255 bytes on Linux, macOS and Windows.
const MaxTagComponent = 255 - len(".lock")

// MaxTagLen bounds a whole tag name: GitHub refuses refs longer than this in
// its API, and a deep path under .git/refs/tags risks PATH_MAX.
const MaxTagLen = 1024

// CheckTagName applies every rule of `git check-ref-format` to
// refs/tags/<tag>, the limits of the filesystem that holds loose refs, and
// refuses a leading "-" (it would read as an option).
func CheckTagName(tag string) error {
	if tag == "" {
		return fmt.Errorf("empty tag name")
	}
	if len(tag) > MaxTagLen {
		return fmt.Errorf("tag %q is %d bytes; git hosts refuse refs longer than %d", truncTag(tag), len(tag), MaxTagLen)
	}
	if strings.HasPrefix(tag, "-") {
		return fmt.Errorf("tag %q starts with '-'", tag)
	}
	if tag == "@" || strings.Contains(tag, "@{") {
		return fmt.Errorf("tag %q contains '@{' or is '@'", tag)
	}
	if strings.Contains(tag, "..") {
		return fmt.Errorf("tag %q contains '..'", tag)
	}
	if strings.Contains(tag, "//") || strings.HasPrefix(tag, "/") || strings.HasSuffix(tag, "/") {
		return fmt.Errorf("tag %q has an empty path component", tag)
	}
	if strings.HasSuffix(tag, ".") {
		return fmt.Errorf("tag %q ends with '.'", tag)
	}
	for _, r := range tag {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return fmt.Errorf("tag %q contains %q, which git does not allow in a ref", tag, r)
		}
	}
	for _, comp := range strings.Split(tag, "/") {
		if strings.HasPrefix(comp, ".") || strings.HasSuffix(comp, ".lock") {
			return fmt.Errorf("tag %q has a component starting with '.' or ending with '.lock'", tag)
		}
		if len(comp) > MaxTagComponent {
			return fmt.Errorf("tag %q has a path component of %d bytes; git cannot create a ref file whose name is longer than %d bytes", truncTag(tag), len(comp), MaxTagComponent)
		}
	}
	return nil
}

func truncTag(t string) string {
	if len(t) <= 60 {
		return t
	}
	return t[:60] + "…"
}
