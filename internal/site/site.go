package site

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/sandboxtf"
	"github.com/pghac/pghac/infra"
)

// DirName is pghac's git-ignored state folder, beside the cluster file by default: the
// Terraform state belongs to the cluster, so it must not depend on the current directory.
const DirName = ".pghac"

// Site is where one target's files are.
type Site struct {
	File   string       // the cluster file
	Target model.Target //
	Deploy string       // the generated tree, deploy/<target>
	State  string       // the state folder, .pghac
	Dir    string       // the target's part of it, .pghac/<target>
	// CacheDir holds the sandbox's machine images; empty for other targets.
	CacheDir string
}

// New resolves the paths of target t for the cluster file, the generated tree's root out and
// the state folder (default DirName beside file).
func New(file, out, stateDir string, t model.Target) Site {
	if stateDir == "" {
		stateDir = filepath.Join(filepath.Dir(file), DirName)
	}
	return Site{
		File:   file,
		Target: t,
		Deploy: filepath.Join(out, string(t)),
		State:  stateDir,
		Dir:    filepath.Join(stateDir, string(t)),
	}
}

// Sandbox is New for the sandbox target with absolute paths: the sandbox's Terraform runs
// its provisioners in another directory. cacheDir is the image cache.
func Sandbox(file, out, stateDir, cacheDir string) (Site, error) {
	abs := func(p *string) error {
		if *p == "" {
			return nil
		}
		a, err := filepath.Abs(*p)
		*p = a
		return err
	}
	for _, p := range []*string{&file, &out, &stateDir} {
		if err := abs(p); err != nil {
			return Site{}, err
		}
	}
	s := New(file, out, stateDir, model.TargetSandbox)
	s.CacheDir = cacheDir
	return s, nil
}

// Work is Terraform's working directory, .pghac/<target>/terraform.
func (s Site) Work() string { return filepath.Join(s.Dir, "terraform") }

// StateFile is Terraform's local state in Work.
func (s Site) StateFile() string { return filepath.Join(s.Work(), "terraform.tfstate") }

// Offline is the offline plan's folder, .pghac/<target>/offline: never a directory with real
// state or real provider hashes.
func (s Site) Offline() string { return filepath.Join(s.Dir, "offline") }

// Secrets is the var file `pghac secrets init` writes, .pghac/<target>/secrets.tfvars.
func (s Site) Secrets() string { return filepath.Join(s.Dir, "secrets.tfvars") }

// Pgpass is the password file `pghac env` writes, .pghac/<target>/pgpass.
func (s Site) Pgpass() string { return filepath.Join(s.Dir, "pgpass") }

// Paths is the sandbox's var file of where pghac, the state and the image cache are.
func (s Site) Paths() string { return filepath.Join(s.Dir, "paths.tfvars.json") }

// BackendVars is the sandbox's var file of the backend binary's location and checksum.
func (s Site) BackendVars() string { return filepath.Join(s.Dir, "backend.tfvars.json") }

// BuildVars is the var file of the builds the yandex module uploads, and their checksums,
// which pghac writes before every Terraform run (provision.WriteBuildVars).
func (s Site) BuildVars() string { return filepath.Join(s.Dir, "builds.tfvars.json") }

// ProvisionerLog is where one sandbox provisioner action's output is kept: Terraform shows
// nothing of a provisioner whose configuration holds a secret. stateDir is the sandbox's Dir
// as its Terraform passes it.
func ProvisionerLog(stateDir, object, action string) string {
	return filepath.Join(stateDir, "provisioners", object+"."+action+".log")
}

// ProvisionerLog is ProvisionerLog in s.
func (s Site) ProvisionerLog(object, action string) string {
	return ProvisionerLog(s.Dir, object, action)
}

// DrillReports is the folder of the drill reports of one run, named by its start time stamp.
func (s Site) DrillReports(stamp string) string { return filepath.Join(s.Dir, "drill", stamp) }

// MakeStateDir creates the target's state folder (mode 0700) and a .gitignore that ignores
// all of the state folder, so that it stays out of git even where the repository's own
// .gitignore does not cover it.
func (s Site) MakeStateDir() error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	ignore := filepath.Join(s.State, ".gitignore")
	if _, err := os.Stat(ignore); err == nil {
		return nil
	}
	return os.WriteFile(ignore, []byte("# pghac's state: Terraform state, plans and secrets. Never commit it.\n*\n"), 0o644)
}

// Fingerprint identifies what a plan is made from: the target, the cluster file and the
// generated tree. apply refuses a plan whose fingerprint is not the current one.
func (s Site) Fingerprint() (string, error) {
	src, err := os.ReadFile(s.File)
	if err != nil {
		return "", err
	}
	tree, err := infra.HashTree(s.Deploy)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "pghac plan 1\x00%s\x00%x\x00%s", s.Target, sha256.Sum256(src), tree)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WritePaths writes the sandbox module's non-secret variables: the pghac binary exe its
// provisioners run, the state folder and the image cache.
func (s Site) WritePaths(exe string) error {
	return WriteVarsJSON(s.Paths(), map[string]string{
		sandboxtf.VarPghac:    exe,
		sandboxtf.VarStateDir: s.Dir,
		sandboxtf.VarCacheDir: s.CacheDir,
	})
}

// WriteBackendVars writes the var file that tells the sandbox's user-data where the backend
// binary is served and what its checksum is.
func (s Site) WriteBackendVars(url, sha256 string) error {
	return WriteVarsJSON(s.BackendVars(), map[string]string{model.BackendURLVar: url, model.BackendSHA256Var: sha256})
}

// WriteVarsJSON writes vars as a .tfvars.json file, which Terraform reads as JSON.
func WriteVarsJSON(path string, vars map[string]string) error {
	b, err := json.MarshalIndent(vars, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}
