package infra

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBinary writes an executable script into dir/name that answers `version -json` the way
// Terraform does, with version v ("" prints plain text, as Terraform before 0.13 did).
func fakeBinary(t *testing.T, dir, name, v string) string {
	t.Helper()
	out := `Terraform v0.12.31`
	if v != "" {
		out = `{"terraform_version":"` + v + `","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}`
	}
	script := "#!/bin/sh\n[ \"$1 $2\" = 'version -json' ] || exit 9\necho '" + out + "'\n"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	newer := filepath.Join(root, "newer")
	older := filepath.Join(root, "older")
	tofu := filepath.Join(root, "tofu")
	empty := filepath.Join(root, "empty")
	ancient := filepath.Join(root, "ancient")
	tfNew := fakeBinary(t, newer, "terraform", "1.11.4")
	tfOld := fakeBinary(t, older, "terraform", "1.4.7")
	tofuBin := fakeBinary(t, tofu, "tofu", "1.8.2")
	fakeBinary(t, ancient, "terraform", "")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	notExec := filepath.Join(root, "not-exec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	list := func(dirs ...string) string { return strings.Join(dirs, string(os.PathListSeparator)) }

	tests := []struct {
		name     string
		explicit string
		env      map[string]string
		wantPath string
		wantName string
		wantVer  string
		wantErr  []string // substrings; set means an error is expected
	}{
		{name: "PATH terraform", env: map[string]string{"PATH": list(empty, newer, tofu)}, wantPath: tfNew, wantName: "terraform", wantVer: "1.11.4"},
		{name: "first on PATH wins", env: map[string]string{"PATH": list(newer, older)}, wantPath: tfNew, wantName: "terraform", wantVer: "1.11.4"},
		{name: "tofu fallback when terraform missing", env: map[string]string{"PATH": list(empty, tofu)}, wantPath: tofuBin, wantName: "tofu", wantVer: "1.8.2"},
		{name: "tofu fallback when terraform too old", env: map[string]string{"PATH": list(older, tofu)}, wantPath: tofuBin, wantName: "tofu", wantVer: "1.8.2"},
		{name: "too old", env: map[string]string{"PATH": older}, wantErr: []string{"terraform: version 1.4.7 is too old, pghac needs 1.5.0 or later", "tofu: not found on PATH"}},
		{name: "no version -json", env: map[string]string{"PATH": ancient}, wantErr: []string{"printed no version"}},
		{name: "nothing", env: map[string]string{"PATH": empty}, wantErr: []string{"no usable Terraform or OpenTofu found on PATH", "terraform: not found on PATH; tofu: not found on PATH"}},
		{name: "explicit path beats PATH", explicit: tfOld + "x", env: map[string]string{"PATH": newer}, wantErr: []string{`--terraform "` + tfOld + `x"`, "no such file"}},
		{name: "explicit path", explicit: tofuBin, env: map[string]string{"PATH": newer}, wantPath: tofuBin, wantName: "tofu", wantVer: "1.8.2"},
		{name: "explicit too old has no fallback", explicit: tfOld, env: map[string]string{"PATH": list(newer, tofu)}, wantErr: []string{"--terraform", "too old"}},
		{name: "explicit name on PATH", explicit: "tofu", env: map[string]string{"PATH": list(newer, tofu)}, wantPath: tofuBin, wantName: "tofu", wantVer: "1.8.2"},
		{name: "env var", env: map[string]string{"PATH": newer, EnvTerraform: tofuBin}, wantPath: tofuBin, wantName: "tofu", wantVer: "1.8.2"},
		{name: "flag beats env var", explicit: tfNew, env: map[string]string{EnvTerraform: tofuBin}, wantPath: tfNew, wantName: "terraform", wantVer: "1.11.4"},
		{name: "env var not executable", env: map[string]string{"PATH": newer, EnvTerraform: notExec}, wantErr: []string{EnvTerraform, "is not an executable file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Find(context.Background(), tt.explicit, env(tt.env))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Find = %v, want an error", b)
				}
				if !errors.Is(err, ErrNoTerraform) {
					t.Errorf("error %v does not wrap ErrNoTerraform", err)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Path != tt.wantPath || b.Name != tt.wantName || b.Version != tt.wantVer {
				t.Errorf("Find = %+v, want path %s name %s version %s", b, tt.wantPath, tt.wantName, tt.wantVer)
			}
		})
	}
}
