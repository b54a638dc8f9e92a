package repo

import (
	"bufio"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/putitoutthere/putitoutthere/internal/plan"
)

func TestParseLog(t *testing.T) {
	// Shapes seen from git 2.39: files follow the message after an empty
	// token and a newline; an empty commit has no files.
	in := "\x1eaaa\x00p1 p2\x00merge\n\x00\x00\na/x\x00a/z \xc3\xa9\x00" +
		"\x1ebbb\x00p0\x00empty\nrelease: skip\n\x00\x00" +
		"\x1eccc\x00\x00root\n\x00\x00\nREADME\x00"
	var seen []string
	got, err := parseLog(bufio.NewReader(strings.NewReader(in)), func(c *plan.Commit, n int) bool {
		seen = append(seen, c.SHA)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []plan.Commit{
		{SHA: "aaa", Parents: []string{"p1", "p2"}, Message: "merge\n", Files: []string{"a/x", "a/z é"}},
		{SHA: "bbb", Parents: []string{"p0"}, Message: "empty\nrelease: skip\n"},
		{SHA: "ccc", Message: "root\n", Files: []string{"README"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseLog (-want +got):\n%s", diff)
	}
	if strings.Join(seen, ",") != "aaa,bbb,ccc" {
		t.Errorf("callbacks %v", seen)
	}
	// Stopping after the second record.
	got, err = parseLog(bufio.NewReader(strings.NewReader(in)), func(c *plan.Commit, n int) bool { return n < 1 })
	if err != errStop || len(got) != 2 {
		t.Errorf("stop: %d commits, %v", len(got), err)
	}
}

func FuzzParseLog(f *testing.F) {
	f.Add("\x1eaaa\x00p1 p2\x00merge\n\x00\x00\na/x\x00")
	f.Add("\x1e\x00\x00\x00\x1e")
	f.Fuzz(func(t *testing.T, in string) {
		commits, err := parseLog(bufio.NewReader(strings.NewReader(in)), func(*plan.Commit, int) bool { return true })
		if err != nil {
			t.Fatalf("error on complete input: %v", err)
		}
		for _, c := range commits {
			for _, f := range c.Files {
				if f == "" {
					t.Fatal("empty file name")
				}
			}
		}
	})
}
