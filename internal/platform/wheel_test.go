package platform

import "testing"

func TestWheelFits(t *testing.T) {
	cases := []struct {
		triple, tag string
		ok          bool
	}{
		{"x86_64-unknown-linux-gnu", "manylinux_2_17_x86_64.manylinux2014_x86_64", true},
		{"x86_64-unknown-linux-gnu", "manylinux2014_aarch64", false},
		{"x86_64-unknown-linux-gnu", "musllinux_1_2_x86_64", false},
		{"x86_64-unknown-linux-musl", "musllinux_1_2_x86_64", true},
		{"aarch64-unknown-linux-gnu", "manylinux_2_28_aarch64", true},
		{"aarch64-apple-darwin", "macosx_11_0_arm64", true},
		{"aarch64-apple-darwin", "macosx_10_12_universal2", true},
		{"x86_64-apple-darwin", "macosx_11_0_arm64", false},
		{"x86_64-pc-windows-msvc", "win_amd64", true},
		{"x86_64-pc-windows-msvc", "win32", false},
		{"i686-pc-windows-msvc", "win32", true},
		{"x86_64-unknown-linux-gnu", "any", false},
		{"linux-x64-gnu", "manylinux_2_17_x86_64", true},
	}
	for _, c := range cases {
		got, err := WheelFits(c.triple, c.tag)
		if err != nil || got != c.ok {
			t.Errorf("WheelFits(%s, %s) = %v, %v; want %v", c.triple, c.tag, got, err, c.ok)
		}
	}
	if _, err := WheelFits("sparc64-unknown-linux-gnu", "any"); err == nil {
		t.Error("an unknown triple is an error")
	}
	if got := WheelExpect("x86_64-unknown-linux-musl"); got != "musllinux_*_x86_64" {
		t.Errorf("WheelExpect = %q", got)
	}
}
