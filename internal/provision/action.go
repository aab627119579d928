package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/pghac/pghac/emit/sandboxtf"
	"github.com/pghac/pghac/internal/sandbox"
	"github.com/pghac/pghac/internal/site"
)

// Action is what the sandbox's Terraform provisioners ask of pghac (emit/sandboxtf): start or
// stop the network (Object is the bridge) or one machine (Object is its name).
type Action struct {
	Name, Object string
	Address      string // machine-up: the machine's address
	UserData     string // machine-up: its user-data
	SSHKeys      string // machine-up: the public keys its metadata carries, one a line
	Metadata     string // machine-up: its metadata attributes, a JSON object of strings
}

// UsageError is an action that is not one: a wrong object, a missing address, an unknown
// name. The provisioners never ask for one.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Do runs a on cfg's sandbox, writing what it says, its failure included, to out and to the
// state folder's provisioners/ log: Terraform hides the output of a provisioner that handles
// secrets.
func Do(ctx context.Context, cfg sandbox.Config, a Action, out io.Writer) error {
	report := func(w io.Writer, err error) error {
		fmt.Fprintf(w, "pghac %s %s %s: %v\n", sandboxtf.Command, a.Name, a.Object, err)
		return err
	}
	logPath := site.ProvisionerLog(cfg.StateDir, a.Object, a.Name)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return report(out, err)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return report(out, err)
	}
	defer logFile.Close()
	out = io.MultiWriter(out, logFile)
	cfg.Log = out
	switch a.Name {
	case sandboxtf.NetUp, sandboxtf.NetDown:
		if a.Object != cfg.Bridge {
			return &UsageError{fmt.Sprintf("%s acts on bridge %s, not %q", a.Name, cfg.Bridge, a.Object)}
		}
		if a.Name == sandboxtf.NetUp {
			// The S3 server before any machine boots: post_bootstrap creates the stanza, and
			// the first WAL segments archive at once.
			if err = sandbox.NetworkUp(ctx, cfg); err == nil {
				err = sandbox.CloudAPIUp(ctx, cfg, CloudAPIArgv(selfExe(), cfg))
			}
			if err == nil {
				err = sandbox.S3Start(ctx, cfg)
			}
		} else {
			err = sandbox.NetworkDown(ctx, cfg)
		}
	case sandboxtf.MachineUp:
		addr, perr := netip.ParseAddr(a.Address)
		if perr != nil {
			return &UsageError{"machine-up needs --address: " + perr.Error()}
		}
		if a.UserData == "" {
			return report(out, fmt.Errorf("no user-data: $%s is empty", sandboxtf.EnvUserData))
		}
		var attrs map[string]string
		if a.Metadata != "" {
			if jerr := json.Unmarshal([]byte(a.Metadata), &attrs); jerr != nil {
				return report(out, fmt.Errorf("$%s: want a JSON object of strings: %w", sandboxtf.EnvMetadata, jerr))
			}
		}
		err = sandbox.MachineUp(ctx, cfg, a.Object, addr, sandbox.Boot{UserData: []byte(a.UserData), SSHKeys: keyLines(a.SSHKeys), Metadata: attrs})
	case sandboxtf.MachineDown:
		err = sandbox.MachineDown(ctx, cfg, a.Object)
	case sandbox.CloudAPIAction:
		if a.Object != cfg.Bridge {
			return &UsageError{fmt.Sprintf("%s serves on bridge %s, not %q", a.Name, cfg.Bridge, a.Object)}
		}
		err = sandbox.ServeCloudAPI(ctx, cfg)
	default:
		return &UsageError{fmt.Sprintf("unknown action %q: want net-up, net-down, machine-up, machine-down or cloud-api", a.Name)}
	}
	if err != nil {
		return report(out, err)
	}
	fmt.Fprintf(out, "pghac %s %s %s: done\n", sandboxtf.Command, a.Name, a.Object)
	return nil
}

// keyLines are the non-empty lines of keys.
func keyLines(keys string) []string {
	var out []string
	for _, l := range strings.Split(keys, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// CloudAPIArgv is the command that runs cfg's cloud API (sandbox.ServeCloudAPI) as a daemon:
// pghac binary exe's hidden sandbox command, as the provisioners run it.
func CloudAPIArgv(exe string, cfg sandbox.Config) []string {
	return []string{exe, sandboxtf.Command,
		sandboxtf.FlagStateDir, cfg.StateDir, sandboxtf.FlagCacheDir, cfg.CacheDir,
		sandboxtf.FlagBridge, cfg.Bridge, sandboxtf.FlagCIDR, cfg.CIDR.String(),
		sandbox.CloudAPIAction, cfg.Bridge}
}

// selfExe is the running pghac binary: the provisioners run the one pghac up gave them.
func selfExe() string {
	exe, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return exe
}
