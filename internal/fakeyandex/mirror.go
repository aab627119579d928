package fakeyandex

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// WriteMirror installs providerExecutable as yandex-cloud/yandex
// ProviderVersion into an unpacked filesystem mirror under dir and writes a
// Terraform CLI configuration that installs that provider from the mirror
// and nothing from anywhere else. It returns the configuration's path, for
// TF_CLI_CONFIG_FILE (see TerraformEnv). With it, `terraform init` works
// offline and records the provider in .terraform.lock.hcl as usual.
//
// Layout:
//
//	<dir>/terraformrc
//	<dir>/mirror/registry.terraform.io/yandex-cloud/yandex/<version>/<os>_<arch>/terraform-provider-yandex_v<version>
//
// providerExecutable is copied, not linked. It may be the provider binary
// or a shell script that execs one (`#!/bin/sh` and
// `exec '/path/to/pghac' <subcommand> "$@"`); Terraform only execs it.
//
// The lock file pins the hash of the copied file. A working directory
// initialised against one executable fails to plan against another
// ("does not match any of the checksums recorded in the dependency lock
// file"), and `terraform init -upgrade` does not help because the version
// is the same. A script keeps the hash stable while the binary it runs
// changes; the robust way is to run offline Terraform in a fresh working
// directory, never in one initialised for the real provider (whose lock
// file holds the real provider's hashes, which the fake can never match).
//
// WriteMirror may be called again with the same dir; it replaces both files.
func WriteMirror(dir, providerExecutable string) (cliConfigPath string, err error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	mirror := filepath.Join(absDir, "mirror")
	pkgDir := filepath.Join(mirror, "registry.terraform.io", ProviderSource, ProviderVersion, runtime.GOOS+"_"+runtime.GOARCH)
	if err := os.MkdirAll(pkgDir, 0o755); err != nil {
		return "", err
	}
	if err := copyExecutable(providerExecutable, filepath.Join(pkgDir, "terraform-provider-yandex_v"+ProviderVersion)); err != nil {
		return "", err
	}
	cliConfigPath = filepath.Join(absDir, "terraformrc")
	if err := writeFileAtomic(cliConfigPath, []byte(cliConfig(mirror)), 0o644); err != nil {
		return "", err
	}
	return cliConfigPath, nil
}

// cliConfig is the CLI configuration for a mirror at mirror (absolute). It
// has no `direct` installation method: a configuration that needs any other
// provider fails at init at once instead of trying the network.
func cliConfig(mirror string) string {
	return `# Written by pghac: install yandex-cloud/yandex from pghac's offline mirror.
provider_installation {
  filesystem_mirror {
    path    = ` + strconv.Quote(mirror) + `
    include = ["` + registryAddress + `"]
  }
}
`
}

// TerraformEnv returns the environment variables an offline Terraform run
// needs on top of the caller's environment: the CLI configuration written by
// WriteMirror; CHECKPOINT_DISABLE, because Terraform otherwise looks up
// checkpoint-api.hashicorp.com; and an empty TF_PLUGIN_CACHE_DIR, so that a
// user's plugin cache never receives the fake provider under the real
// provider's name. All three are accepted by terraform-exec's SetEnv.
func TerraformEnv(cliConfigPath string) map[string]string {
	return map[string]string{
		"TF_CLI_CONFIG_FILE":  cliConfigPath,
		"CHECKPOINT_DISABLE":  "1",
		"TF_PLUGIN_CACHE_DIR": "",
	}
}

// ShellWrapper returns a provider executable script that runs exe with args
// followed by the arguments Terraform passes; exe and args are quoted for
// /bin/sh. Written once per path of exe, its bytes (and so the lock-file
// hash) do not change when exe is rebuilt.
func ShellWrapper(exe string, args ...string) []byte {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Written by pghac: the offline Yandex provider.\nexec ")
	for _, a := range append([]string{exe}, args...) {
		b.WriteString(shellQuote(a))
		b.WriteByte(' ')
	}
	b.WriteString("\"$@\"\n")
	return []byte(b.String())
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("provider executable %s is not a regular file", src)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".provider-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// Rename, so that a Terraform process running the old file keeps it.
	return os.Rename(tmp.Name(), dst)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
