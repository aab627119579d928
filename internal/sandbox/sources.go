package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// suite is the Debian release of every sandbox machine (Debian 12).
const suite = "bookworm"

// aptSource is one "deb" source of the host's apt configuration.
type aptSource struct {
	URI        string
	Suite      string
	Components []string
}

// mirrors are the host's Debian archive sources for suite: the main archive
// (Suite == suite, used by debootstrap) first, then -updates and -security.
type mirrors struct {
	Sources []aptSource
}

// Main is the mirror debootstrap reads.
func (m mirrors) Main() string { return m.Sources[0].URI }

// hostMirrors reads /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources}
// under root ("/" on a real host) and keeps the Debian sources for suite. The mirror
// is never hard-coded: CI machines and users' hosts each have their own.
func hostMirrors(root string) (mirrors, error) {
	files := []string{filepath.Join(root, "etc/apt/sources.list")}
	for _, pat := range []string{"*.list", "*.sources"} {
		m, _ := filepath.Glob(filepath.Join(root, "etc/apt/sources.list.d", pat))
		files = append(files, m...)
	}
	slices.Sort(files[1:])
	var all []aptSource
	for _, f := range files {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return mirrors{}, err
		}
		if strings.HasSuffix(f, ".sources") {
			all = append(all, parseDeb822(b)...)
		} else {
			all = append(all, parseOneLine(b)...)
		}
	}
	var m mirrors
	for _, want := range []string{suite, suite + "-updates", suite + "-security"} {
		for _, s := range all {
			if s.Suite == want && (strings.HasPrefix(s.URI, "http://") || strings.HasPrefix(s.URI, "https://")) {
				m.Sources = append(m.Sources, s)
				break
			}
		}
		if len(m.Sources) == 0 {
			return mirrors{}, fmt.Errorf("no Debian %s mirror in the host's /etc/apt/sources.list or /etc/apt/sources.list.d: add a \"deb http://MIRROR/debian %s main\" source", suite, suite)
		}
	}
	return m, nil
}

// parseOneLine reads the classic "deb [options] URI suite component..." format.
func parseOneLine(b []byte) []aptSource {
	var out []aptSource
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) == 0 {
				continue
			}
			f = f[1:]
		}
		if len(f) < 2 {
			continue
		}
		out = append(out, aptSource{URI: withSlash(f[0]), Suite: f[1], Components: f[2:]})
	}
	return out
}

// parseDeb822 reads the deb822 ".sources" format: stanzas separated by blank lines.
func parseDeb822(b []byte) []aptSource {
	var out []aptSource
	for _, stanza := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n") {
		fields := map[string]string{}
		key := ""
		for _, line := range strings.Split(stanza, "\n") {
			if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			}
			if (line[0] == ' ' || line[0] == '\t') && key != "" {
				fields[key] += " " + strings.TrimSpace(line)
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			key = strings.ToLower(strings.TrimSpace(k))
			fields[key] = strings.TrimSpace(v)
		}
		if !slices.Contains(strings.Fields(fields["types"]), "deb") || strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		for _, uri := range strings.Fields(fields["uris"]) {
			for _, s := range strings.Fields(fields["suites"]) {
				out = append(out, aptSource{URI: withSlash(uri), Suite: s, Components: strings.Fields(fields["components"])})
			}
		}
	}
	return out
}

func withSlash(uri string) string {
	if strings.HasSuffix(uri, "/") {
		return uri
	}
	return uri + "/"
}

// sourcesList renders the machines' /etc/apt/sources.list: the host's own sources
// for suite, which the apt proxy on the bridge fetches for them.
func (m mirrors) sourcesList() []byte {
	var b bytes.Buffer
	b.WriteString("# Written by pghac: the host's Debian sources, fetched through the sandbox's apt proxy.\n")
	for _, s := range m.Sources {
		comps := s.Components
		if len(comps) == 0 {
			comps = []string{"main"}
		}
		fmt.Fprintf(&b, "deb %s %s %s\n", s.URI, s.Suite, strings.Join(comps, " "))
	}
	return b.Bytes()
}
