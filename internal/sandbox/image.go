package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// imageRecipe changes whenever the way a root is built changes in Go code (the
// embedded templates are hashed into the key by themselves), so that old cached
// roots are not reused.
const imageRecipe = "1"

// baseIncludes are the packages debootstrap adds to minbase: what a machine needs
// to boot with systemd and get its address.
var baseIncludes = []string{"systemd", "systemd-sysv", "dbus", "iproute2"}

//go:embed templates
var templates embed.FS

var bakeTmpl = template.Must(template.ParseFS(templates, "templates/bake.sh.tmpl"))

// packageRE accepts Debian package names, optionally with =version; the names
// end up in a shell script.
var packageRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$`)

// imageFile is a file pghac writes into a new root before baking.
type imageFile struct {
	path string // inside the root
	tmpl string // under templates/
	mode os.FileMode
}

var imageFiles = []imageFile{
	{"usr/sbin/policy-rc.d", "templates/policy-rc.d", 0o755},
	{"etc/postgresql-common/createcluster.d/50-pghac.conf", "templates/createcluster.conf", 0o644},
	{"etc/systemd/network/10-cloud-init-host0.network.d/10-pghac-no-ipv6.conf", "templates/no-ipv6.conf", 0o644},
	{"etc/cloud/cloud.cfg.d/90-pghac.cfg", "templates/cloud.cfg", 0o644},
}

// image is what a cached root is built from.
type image struct {
	mirrors  mirrors
	packages []string
	// validUntil is the host's Acquire::Check-Valid-Until "false", if set: a
	// snapshot mirror's Release files are past their date.
	noValidUntil bool
}

func (c Config) image(ctx context.Context) (image, error) {
	m, err := hostMirrors("/")
	if err != nil {
		return image{}, err
	}
	pkgs := slices.Clone(c.Packages)
	slices.Sort(pkgs)
	pkgs = slices.Compact(pkgs)
	for _, p := range pkgs {
		if !packageRE.MatchString(p) {
			return image{}, fmt.Errorf("sandbox package %q is not a Debian package name", p)
		}
	}
	out, _ := run(ctx, "apt-config", "shell", "V", "Acquire::Check-Valid-Until")
	return image{mirrors: m, packages: pkgs, noValidUntil: strings.Contains(string(out), "V='false'")}, nil
}

// key is the cache key: recipe, suite, sources, packages and every embedded template.
func (im image) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "pghac image\nrecipe %s\nsuite %s\ninclude %s\nvalid-until-off %v\n", imageRecipe, suite, strings.Join(baseIncludes, ","), im.noValidUntil)
	h.Write(im.mirrors.sourcesList())
	fmt.Fprintf(h, "packages %s\n", strings.Join(im.packages, " "))
	_ = fsWalk(func(name string, b []byte) { fmt.Fprintf(h, "%s %d\n", name, len(b)); h.Write(b) })
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func fsWalk(f func(name string, b []byte)) error {
	entries, err := templates.ReadDir("templates")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := templates.ReadFile("templates/" + e.Name())
		if err != nil {
			return err
		}
		f(e.Name(), b)
	}
	return nil
}

// ImageRoot is the path the cached root for cfg has (or would have), without building it.
func ImageRoot(ctx context.Context, cfg Config) (string, error) {
	im, err := cfg.image(ctx)
	if err != nil {
		return "", err
	}
	return filepath.Join(cfg.CacheDir, "images", suite+"-"+im.key()), nil
}

// EnsureImage returns the cached root for cfg, building it first if it does not
// exist: debootstrap of Debian bookworm minbase from the host's own mirror, then
// cloud-init and cfg.Packages installed with daemons kept from starting, systemd-networkd
// enabled, cloud-init cleaned, an empty machine-id. The root is built in a temporary
// directory and renamed into place, so a root that exists is complete; concurrent
// callers wait for one build. Machines never write to it (they boot with an overlay).
func EnsureImage(ctx context.Context, cfg Config) (string, error) {
	im, err := cfg.image(ctx)
	if err != nil {
		return "", err
	}
	key := im.key()
	dir := filepath.Join(cfg.CacheDir, "images")
	root := filepath.Join(dir, suite+"-"+key)
	if _, err := os.Stat(root); err == nil {
		return root, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, "."+suite+"-"+key+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(root); err == nil {
		return root, nil // built by another process while we waited
	}
	// Leftovers of an interrupted build of this key: we hold its lock, so nobody uses them.
	stale, _ := filepath.Glob(filepath.Join(dir, ".tmp-"+key+"-*"))
	for _, s := range stale {
		if err := removeTree(s); err != nil {
			return "", err
		}
	}
	tmp := filepath.Join(dir, ".tmp-"+key+"-"+strconv.Itoa(os.Getpid()))
	defer func() { _ = removeTree(tmp) }()
	start := time.Now()
	if err := im.build(ctx, cfg, key, filepath.Join(tmp, "root")); err != nil {
		return "", fmt.Errorf("build the sandbox image %s: %w", key, err)
	}
	if err := os.Rename(filepath.Join(tmp, "root"), root); err != nil {
		return "", err
	}
	cfg.logf("image %s ready in %s (%s)", key, time.Since(start).Round(time.Second), root)
	return root, nil
}

func (im image) build(ctx context.Context, cfg Config, key, root string) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	cfg.logf("building image %s: debootstrap %s minbase from %s (about a minute)", key, suite, im.mirrors.Main())
	args := []string{"--variant=minbase", "--include=" + strings.Join(baseIncludes, ","), suite, root, im.mirrors.Main()}
	if _, err := run(ctx, "debootstrap", args...); err != nil {
		return err
	}
	for _, f := range imageFiles {
		b, err := templates.ReadFile(f.tmpl)
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(root, f.path), b, f.mode); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(root, "etc/apt/sources.list"), im.mirrors.sourcesList(), 0o644); err != nil {
		return err
	}
	if im.noValidUntil {
		b := []byte("// Written by pghac: as on the host, whose mirror is a dated snapshot.\nAcquire::Check-Valid-Until \"false\";\n")
		if err := writeFile(filepath.Join(root, "etc/apt/apt.conf.d/99pghac-valid-until"), b, 0o644); err != nil {
			return err
		}
	}
	var script bytes.Buffer
	if err := bakeTmpl.Execute(&script, struct{ Packages []string }{im.packages}); err != nil {
		return err
	}
	cfg.logf("building image %s: installing cloud-init%s", key, pkgList(im.packages))
	hs, err := hierarchies()
	if err != nil {
		return err
	}
	// The bake is a container too: it needs its own cgroup, or nspawn leaves
	// /payload and /supervisor in the host's root cgroups.
	name := "pghac-bake-" + key[:8]
	var cgs []string
	for _, h := range hs {
		cgs = append(cgs, filepath.Join(h, cgroupTop, name))
	}
	defer func() {
		_ = killCgroup(cgs, 10*time.Second)
		for _, d := range cgs {
			_ = removeCgroupTree(d)
		}
		removeEmptyTop(hs)
	}()
	nspawn := []string{"systemd-nspawn", "-D", root, "--register=no", "--keep-unit", "--machine=" + name,
		"--link-journal=no", "--console=pipe", "-q", "/bin/sh", "-c", script.String()}
	cmd, err := cgroupCommand(ctx, cgs, nspawn)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("installing packages in the new root: %w%s", err, indentTail(out.String(), 25))
	}
	return nil
}

func pkgList(p []string) string {
	if len(p) == 0 {
		return ""
	}
	return " and " + strings.Join(p, " ")
}

// writeFile writes a file, creating its parent directories (0755).
func writeFile(path string, b []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

// lockFile takes an exclusive flock on path, waiting (and honouring ctx) while
// another process holds it.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
