package manifest

import (
	"reflect"
	"testing"
)

func TestCargoDepsEveryKind(t *testing.T) {
	src := `
[package]
name = "tauri-bundler"
version = "2.0.0"

[dependencies]
tauri-utils = { version = "2.0.0", path = "../tauri-utils" }
tauri-utils-v1 = { package = "tauri-utils", version = "1" }
serde = "1"
common = { workspace = true }

[build-dependencies]
cc = "1"

[dev-dependencies]
tempfile = "3"

[target."cfg(target_os = \"macos\")".dependencies]
tauri-macos-sign = { version = "2.0.0", path = "../tauri-macos-sign" }

[target.'cfg(windows)'.build-dependencies]
winres = "0.1"
`
	for i := 0; i < 20; i++ { // no map-order dependence
		deps, err := CargoDeps([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range deps {
			got = append(got, d.Kind+":"+d.Target+":"+d.Key+"="+d.Name+"@"+d.Req+"|"+d.Path)
		}
		want := []string{
			"normal::common=common@|",
			"normal::serde=serde@1|",
			"normal::tauri-utils=tauri-utils@2.0.0|../tauri-utils",
			"normal::tauri-utils-v1=tauri-utils@1|",
			"build::cc=cc@1|",
			"dev::tempfile=tempfile@3|",
			`normal:cfg(target_os = "macos"):tauri-macos-sign=tauri-macos-sign@2.0.0|../tauri-macos-sign`,
			"build:cfg(windows):winres=winres@0.1|",
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got\n%q\nwant\n%q", got, want)
		}
		if !deps[0].Workspace {
			t.Fatal("workspace = true not read")
		}
	}
}

func TestNPMDeps(t *testing.T) {
	deps, err := NPMDeps([]byte(`{"name":"@changesets/cli","dependencies":{"@changesets/apply-release-plan":"workspace:^","x":"npm:@scope/real@^2","loc":"file:../loc"},"devDependencies":{"jest":"29"},"peerDependencies":{"p":"*"},"optionalDependencies":{"o":"1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range deps {
		got = append(got, d.Kind+":"+d.Key+"="+d.Name+"@"+d.Req+"|"+d.Path)
	}
	want := []string{
		"normal:@changesets/apply-release-plan=@changesets/apply-release-plan@workspace:^|",
		"normal:loc=loc@file:../loc|../loc",
		"normal:x=@scope/real@^2|",
		"optional:o=o@1|",
		"peer:p=p@*|",
		"dev:jest=jest@29|",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestPythonDeps(t *testing.T) {
	deps, err := PythonDeps([]byte(`
[project]
name = "pydantic"
dependencies = ["pydantic-core==2.27.1", "typing_extensions>=4.6; python_version < '3.13'", "annotated-types [extra] >= 0.6"]
[project.optional-dependencies]
email = ["email-validator>=2"]
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range deps {
		got = append(got, d.Kind+":"+d.Name+"@"+d.Req)
	}
	want := []string{"normal:pydantic-core@==2.27.1", "normal:typing_extensions@>=4.6", "normal:annotated-types@>= 0.6", "optional:email-validator@>=2"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if NormalizePyName("Typing_Extensions") != "typing-extensions" {
		t.Fatal("normalise")
	}
}

func TestReadInfo(t *testing.T) {
	ci, err := ReadCargoInfo([]byte("[workspace]\nmembers=[\"crates/*\"]\nexclude=[\"x\"]\n[workspace.package]\nversion=\"0.23.2\"\n"))
	if err != nil || !ci.IsWorkspace || ci.HasPackage || ci.WorkspaceVersion != "0.23.2" || len(ci.Members) != 1 {
		t.Fatalf("%+v %v", ci, err)
	}
	ci, _ = ReadCargoInfo([]byte("[package]\nname=\"a\"\nversion.workspace=true\npublish=false\n"))
	if !ci.VersionInherited || ci.Publish || ci.Name != "a" {
		t.Fatalf("%+v", ci)
	}
	for src, want := range map[string]bool{`{"private":true}`: true, `{"private":"true"}`: true, `{"private":""}`: false, `{}`: false} {
		ni, err := ReadNPMInfo([]byte(src))
		if err != nil || ni.Private != want {
			t.Errorf("%s: private=%v want %v", src, ni.Private, want)
		}
	}
	ni, _ := ReadNPMInfo([]byte(`{"workspaces":{"packages":["packages/*"]}}`))
	if len(ni.Workspaces) != 1 {
		t.Fatal(ni.Workspaces)
	}
}
