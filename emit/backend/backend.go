package backend

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/url"
	"strconv"
	"text/template"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
	"github.com/pghac/pghac/emit/fetch"
)

// Paths on a node.
const (
	// BinaryPath is where the node installs the downloaded, verified backend binary.
	BinaryPath = "/usr/local/bin/pghac-backend"
	// UnitPath is the backend's systemd unit.
	UnitPath = "/etc/systemd/system/" + Unit + ".service"
	// PasswordPath holds the database password, readable by root only; systemd hands it to the
	// service as a credential.
	PasswordPath = "/etc/pghac-backend/db-password"
)

// Unit is the backend's systemd unit name.
const Unit = "pghac-backend"

//go:embed templates/pghac-backend.service.tmpl
var unitText string

var unitTmpl = template.Must(template.New("pghac-backend.service").Option("missingkey=error").Parse(unitText))

// NodePart returns the backend's part of node n: its password file and unit, and the boot
// lines that install the binary and start the service. Nothing without a backend block.
func NodePart(c *model.Cluster, n model.Node) (artifact.NodePart, error) {
	b := c.Backend
	if b == nil {
		return artifact.NodePart{}, nil
	}
	var unit bytes.Buffer
	err := unitTmpl.Execute(&unit, map[string]any{
		"Node":         n.Name,
		"PrimaryPort":  c.HAProxy.PrimaryPort,
		"ReplicaPort":  c.HAProxy.ReplicaPort,
		"Binary":       BinaryPath,
		"Listen":       "0.0.0.0:" + strconv.Itoa(b.Port),
		"WriteDSN":     dsn(b, c.HAProxy.PrimaryPort),
		"ReadDSN":      dsn(b, c.HAProxy.ReplicaPort),
		"PasswordFile": PasswordPath,
	})
	if err != nil {
		return artifact.NodePart{}, fmt.Errorf("%s: %w", UnitPath, err)
	}
	return artifact.NodePart{
		Files: []artifact.NodeFile{
			{Path: PasswordPath, Owner: "root:root", Mode: 0o600, Bytes: []byte(model.SecretBackendPassword.Placeholder() + "\n")},
			{Path: UnitPath, Owner: "root:root", Mode: 0o644, Bytes: unit.Bytes()},
		},
		Boot: install(b),
	}, nil
}

// dsn is the backend's connection to HAProxy's port on the same node, without the password
// (that comes from the credential). PgBouncer, behind HAProxy, speaks no TLS.
func dsn(b *model.Backend, port int) string {
	u := url.URL{Scheme: "postgres", User: url.User(b.User), Host: "127.0.0.1:" + strconv.Itoa(port), Path: "/" + b.Database,
		RawQuery: "sslmode=disable"}
	return u.String()
}

// install returns the boot lines that download the backend binary, check its SHA-256, install
// it and start the service. A download that does not match stops cloud-init with an error
// before anything is installed. They run last on the node: the backend serves through HAProxy,
// and waits for the database by itself.
func install(b *model.Backend) []string {
	return append(fetch.Commands(b.ArtifactURL, b.ArtifactSHA256, BinaryPath, b.LocalBuild),
		"systemctl enable "+Unit,
		"systemctl restart "+Unit)
}
