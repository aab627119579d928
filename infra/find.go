package infra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-version"
)

// MinVersion is the oldest Terraform (or OpenTofu) release pghac drives. The Yandex provider
// speaks plugin protocol 6 through an SDKv2 upgrade, which needs 1.1.5; the sandbox target's
// configuration uses the built-in terraform_data resource (1.4); and the saved-plan JSON that
// Show summarises reports replace_paths and action_reason (1.2). 1.5.0 is a round floor above
// all three; every OpenTofu release (1.6 and later) qualifies.
const MinVersion = "1.5.0"

// S3BackendMinVersion is the oldest Terraform whose s3 backend takes the arguments a state
// block's backend is written with (endpoints, skip_requesting_account_id, skip_s3_checksum).
const S3BackendMinVersion = "1.6.0"

// EnvTerraform names the environment variable Find reads for the binary's path.
const EnvTerraform = "PGHAC_TERRAFORM"

var minVersion = version.Must(version.NewVersion(MinVersion))

// ErrNoTerraform is wrapped by Find's error when no usable binary was found. The error's text
// says what was tried and why each candidate was refused.
var ErrNoTerraform = errors.New("no usable Terraform or OpenTofu found")

// Binary is a Terraform or OpenTofu executable that Find accepted.
type Binary struct {
	Path    string // absolute
	Name    string // "terraform" or "tofu", for messages
	Version string // e.g. "1.11.4"
}

// AtLeast reports whether b is release v or later (v a version Find's parser takes).
func (b Binary) AtLeast(v string) bool {
	have, err := version.NewVersion(b.Version)
	return err == nil && !have.LessThan(version.Must(version.NewVersion(v)))
}

func (b Binary) String() string { return fmt.Sprintf("%s %s (%s)", b.Name, b.Version, b.Path) }

// Find picks the binary to run: explicit when not empty (the --terraform flag), else the
// PGHAC_TERRAFORM environment variable, else `terraform` and then `tofu` on PATH. An explicit
// or PGHAC_TERRAFORM value without a slash is looked up on PATH. A named binary must work: Find
// falls back from terraform to tofu on PATH only. The chosen binary's `version -json` must
// report at least MinVersion.
//
// getenv supplies PATH and PGHAC_TERRAFORM, so that the caller decides what the environment is.
func Find(ctx context.Context, explicit string, getenv func(string) string) (Binary, error) {
	path := getenv("PATH")
	named, source := explicit, "--terraform"
	if named == "" {
		named, source = getenv(EnvTerraform), EnvTerraform
	}
	if named != "" {
		b, err := check(ctx, named, path)
		if err != nil {
			return Binary{}, fmt.Errorf("%w: %s %q: %v", ErrNoTerraform, source, named, err)
		}
		return b, nil
	}
	var problems []string
	for _, name := range []string{"terraform", "tofu"} {
		b, err := check(ctx, name, path)
		if err == nil {
			return b, nil
		}
		problems = append(problems, fmt.Sprintf("%s: %v", name, err))
	}
	return Binary{}, fmt.Errorf("%w on PATH (%s)", ErrNoTerraform, strings.Join(problems, "; "))
}

// check resolves name and reads its version.
func check(ctx context.Context, name, pathEnv string) (Binary, error) {
	p, err := lookPath(name, pathEnv)
	if err != nil {
		return Binary{}, err
	}
	v, err := readVersion(ctx, p)
	if err != nil {
		return Binary{}, err
	}
	if v.LessThan(minVersion) {
		return Binary{}, fmt.Errorf("version %s is too old, pghac needs %s or later", v, MinVersion)
	}
	kind := "terraform"
	if strings.Contains(filepath.Base(p), "tofu") {
		kind = "tofu"
	}
	return Binary{Path: p, Name: kind, Version: v.String()}, nil
}

// lookPath is exec.LookPath over the given PATH value instead of the process's.
func lookPath(name, pathEnv string) (string, error) {
	if strings.Contains(name, "/") {
		return executable(name)
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		if p, err := executable(filepath.Join(dir, name)); err == nil {
			return p, nil
		}
	}
	return "", errors.New("not found on PATH")
}

func executable(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", p)
	}
	return filepath.Abs(p)
}

// readVersion runs `version -json`, which Terraform has had since 0.13 and OpenTofu since its
// first release (both name the field terraform_version).
func readVersion(ctx context.Context, p string) (*version.Version, error) {
	cmd := exec.CommandContext(ctx, p, "version", "-json")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	// Inherit the environment, but skip the update check: it is a network call.
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s version -json: %v", p, err)
	}
	var out struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || out.Version == "" {
		return nil, fmt.Errorf("%s version -json printed no version (older than %s?)", p, MinVersion)
	}
	v, err := version.NewVersion(out.Version)
	if err != nil {
		return nil, fmt.Errorf("%s reports version %q: %v", p, out.Version, err)
	}
	return v, nil
}
