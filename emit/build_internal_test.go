package emit

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/compiler/model/modeltest"
	"github.com/pghac/pghac/emit/artifact"
)

func fixedNodeFamily(name string, files ...artifact.NodeFile) nodeFamily {
	return fixedPartFamily(name, artifact.NodePart{Files: files})
}

func fixedPartFamily(name string, part artifact.NodePart) nodeFamily {
	return nodeFamily{name, func(*model.Cluster, model.Node) (artifact.NodePart, error) { return part, nil }}
}

func TestBuildLayout(t *testing.T) {
	c := modeltest.Cluster()
	c.Nodes = c.Nodes[:2]
	nodeFams := []nodeFamily{
		fixedPartFamily("b", artifact.NodePart{
			Files:     []artifact.NodeFile{{Path: "/etc/b/b.yaml", Owner: "postgres:postgres", Mode: 0o600, Bytes: []byte("b: 1\n")}},
			BootFiles: []artifact.NodeFile{{Path: "/usr/local/lib/b.sh", Mode: 0o755, Bytes: []byte("#!/bin/sh\n")}},
			Boot:      []string{"/usr/local/lib/b.sh", "systemctl enable b"},
		}),
		fixedPartFamily("a", artifact.NodePart{
			Files: []artifact.NodeFile{{Path: "/usr/local/bin/a", Mode: 0o755, Bytes: []byte("#!/bin/sh\n")}},
			Boot:  []string{"systemctl enable a"},
		}),
	}
	clusterFams := []clusterFamily{{"tf", func(*model.Cluster) ([]artifact.File, error) {
		return []artifact.File{{Path: "main.tf", Mode: 0o644, Bytes: []byte("# tf\n")}}, nil
	}}}
	s, err := build(c, nodeFams, clusterFams)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"main.tf",
		"nodes/node0/files/etc/b/b.yaml",
		"nodes/node0/files/usr/local/bin/a",
		"nodes/node0/user-data.yaml",
		"nodes/node1/files/etc/b/b.yaml",
		"nodes/node1/files/usr/local/bin/a",
		"nodes/node1/user-data.yaml",
	}
	if diff := cmp.Diff(want, s.Paths()); diff != "" {
		t.Fatalf("paths (-want +got):\n%s", diff)
	}
	for _, f := range s.Files() {
		if f.Mode != 0o644 {
			t.Errorf("%s: mode %v, want 0644", f.Path, f.Mode)
		}
	}
	ud, _ := s.Get("nodes/node1/user-data.yaml")
	// Family order, not path order, decides the order of write_files and of runcmd; boot
	// files, which the tree does not show, come after every family's files.
	ib, ia := bytes.Index(ud.Bytes, []byte("path: /etc/b/b.yaml")), bytes.Index(ud.Bytes, []byte("path: /usr/local/bin/a"))
	ibb := bytes.Index(ud.Bytes, []byte("path: /usr/local/lib/b.sh"))
	if ib < 0 || ia < ib || ibb < ia || !bytes.Contains(ud.Bytes, []byte("hostname: node1\n")) {
		t.Errorf("user-data of node1 does not write b, a, then b's boot file:\n%s", ud.Bytes)
	}
	// The metadata guard comes first, before any family's line; no file holds a placeholder,
	// so there is nothing to fill in and no secrets line.
	if !bytes.Contains(ud.Bytes, []byte("  - systemctl daemon-reload\n  - systemctl enable --now pghac-metadata-guard.service\n"+
		"  - /usr/local/lib/b.sh\n  - systemctl enable b\n  - systemctl enable a\nfinal_message:")) {
		t.Errorf("user-data of node1 does not run the metadata guard, b's boot lines, then a's, after reloading systemd:\n%s", ud.Bytes)
	}
	if bytes.Contains(ud.Bytes, []byte("\n  - /usr/bin/python3 -I /usr/local/lib/pghac/secrets.py")) {
		t.Errorf("user-data of node1 fills in secrets, but no file holds a placeholder:\n%s", ud.Bytes)
	}
}

func TestBuildErrors(t *testing.T) {
	okFile := artifact.NodeFile{Path: "/etc/a.conf", Mode: 0o644, Bytes: []byte("a\n")}
	tests := []struct {
		name       string
		fams       []nodeFamily
		wantFamily string
		wantPath   string
		wantMsg    string
	}{
		{
			name: "family fails",
			fams: []nodeFamily{fixedNodeFamily("a", okFile), {"b", func(*model.Cluster, model.Node) (artifact.NodePart, error) {
				return artifact.NodePart{}, errors.New("boom")
			}}},
			wantFamily: "b", wantPath: "nodes/node0", wantMsg: "internal error in the b emitter (a pghac bug): nodes/node0: boom",
		},
		{
			name:       "same file from two families",
			fams:       []nodeFamily{fixedNodeFamily("a", okFile), fixedNodeFamily("b", okFile)},
			wantFamily: "b", wantPath: "nodes/node0/files/etc/a.conf",
			wantMsg: "internal error in the b emitter (a pghac bug): nodes/node0/files/etc/a.conf: emitted twice",
		},
		{
			name:       "relative node path",
			fams:       []nodeFamily{fixedNodeFamily("a", artifact.NodeFile{Path: "etc/a.conf", Mode: 0o644, Bytes: []byte("a\n")})},
			wantFamily: "a", wantPath: "nodes/node0", wantMsg: `node file "etc/a.conf": want a clean absolute path`,
		},
		{
			name:       "no final newline",
			fams:       []nodeFamily{fixedNodeFamily("a", artifact.NodeFile{Path: "/etc/a.conf", Mode: 0o644, Bytes: []byte("a")})},
			wantFamily: "a", wantPath: "nodes/node0/files/etc/a.conf", wantMsg: "want exactly one final newline",
		},
		{
			name:       "user-data fails",
			fams:       []nodeFamily{fixedNodeFamily("a", artifact.NodeFile{Path: "/etc/a.conf", Owner: "nobody", Mode: 0o644, Bytes: []byte("a\n")})},
			wantFamily: "cloudinit", wantPath: "nodes/node0/user-data.yaml", wantMsg: `owner "nobody"`,
		},
		{
			name:       "boot file that a family writes too",
			fams:       []nodeFamily{fixedNodeFamily("a", okFile), fixedPartFamily("b", artifact.NodePart{BootFiles: []artifact.NodeFile{okFile}})},
			wantFamily: "cloudinit", wantPath: "nodes/node0/user-data.yaml", wantMsg: "/etc/a.conf: written twice",
		},
		{
			name:       "self-check blames the family",
			fams:       []nodeFamily{fixedNodeFamily("a", artifact.NodeFile{Path: "/etc/a.yaml", Mode: 0o644, Bytes: []byte("a: ${nope}\n")})},
			wantFamily: "a", wantPath: "nodes/node0/files/etc/a.yaml", wantMsg: `self-check: line 1: "${nope}" is not a secret's placeholder`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build(modeltest.Cluster(), tt.fams, nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("build error = %v, want an *Error", err)
			}
			if e.Family != tt.wantFamily || e.Path != tt.wantPath || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("build error = %#v\n%v\nwant family %q, path %q, message containing %q",
					e, err, tt.wantFamily, tt.wantPath, tt.wantMsg)
			}
		})
	}
}
