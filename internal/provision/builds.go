package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/pghac/pghac/emit/terraform"
	"github.com/pghac/pghac/infra"
	"github.com/pghac/pghac/internal/site"
)

// Executable is the running pghac's file, links resolved: what Terraform's provisioners run
// in the sandbox, and the load generator's build in the cloud.
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(exe)
}

// BackendBuild is the backend binary pghac hands the nodes when cluster.hcl names none: flag
// when given, else pghac-backend beside pghac (exe), else on PATH.
func BackendBuild(exe, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	bin := filepath.Join(filepath.Dir(exe), "pghac-backend")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if bin, err := exec.LookPath("pghac-backend"); err == nil {
		return bin, nil
	}
	return "", errors.New("the nodes run pghac's build of the backend: there is no pghac-backend beside pghac or on PATH " +
		"(make build puts one in bin/)")
}

// fileSHA256 is the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WriteBuildVars writes the var file of the builds the yandex module in s.Deploy uploads
// (emit/terraform's artifacts.tf): each build's absolute path and its SHA-256, computed now.
// The module says which it uploads by the variables it declares, so that destroy, which
// compiles nothing, passes the same. exe is the running pghac, the load generator's build; the
// backend's is BackendBuild's. ok is false when the module uploads nothing (and no file is left).
func WriteBuildVars(s site.Site, exe string) (path string, ok bool, err error) {
	declared, err := infra.Variables(s.Deploy)
	if err != nil {
		return "", false, err
	}
	vars := map[string]string{}
	for _, v := range declared {
		var file string
		switch v.Name {
		case terraform.VarBackendArtifactPath:
			if file, err = BackendBuild(exe, ""); err != nil {
				return "", false, err
			}
		case terraform.VarPghacArtifactPath:
			file = exe
		default:
			continue
		}
		abs, err := filepath.Abs(file)
		if err != nil {
			return "", false, err
		}
		sum, err := fileSHA256(abs)
		if err != nil {
			return "", false, err
		}
		vars[v.Name], vars[terraform.BuildSHA256Var(v.Name)] = abs, sum
	}
	if len(vars) == 0 {
		// No earlier plan's builds are left for apply to check (CheckBuilds).
		if err := os.Remove(s.BuildVars()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", false, err
		}
		return "", false, nil
	}
	return s.BuildVars(), true, site.WriteVarsJSON(s.BuildVars(), vars)
}

// BuildChangedError is a build that is not the one the saved plan uploads: applying it would
// upload a binary whose checksum the VMs refuse.
type BuildChangedError struct{ Path string }

func (e *BuildChangedError) Error() string {
	return fmt.Sprintf("%s changed since pghac plan hashed it: the VMs would refuse the upload; run pghac plan again", e.Path)
}

// CheckBuilds checks that every build of the var file WriteBuildVars wrote last still has the
// checksum written beside it: a *BuildChangedError names the first that does not. A site
// without that file (nothing uploaded) passes.
func CheckBuilds(s site.Site) error {
	vars, err := infra.StringVars(s.BuildVars())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, pathVar := range []string{terraform.VarBackendArtifactPath, terraform.VarPghacArtifactPath} {
		path, ok := vars[pathVar]
		if !ok {
			continue
		}
		sum, err := fileSHA256(path)
		if errors.Is(err, os.ErrNotExist) || (err == nil && sum != vars[terraform.BuildSHA256Var(pathVar)]) {
			return &BuildChangedError{Path: path}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
