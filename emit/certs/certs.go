package certs

import (
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
)

// NodePart writes node n's TLS files. The keys' files are readable by model.TLSGroup only.
func NodePart(c *model.Cluster, n model.Node) (artifact.NodePart, error) {
	return artifact.NodePart{Files: []artifact.NodeFile{
		{Path: model.TLSCAPath, Owner: "root:root", Mode: 0o644, Bytes: []byte(model.SecretTLSCA.Placeholder() + "\n")},
		{Path: model.TLSNodePath, Owner: "root:" + model.TLSGroup, Mode: 0o640, Bytes: []byte(model.NodeTLSSecret(n.Name).Placeholder() + "\n")},
		{Path: model.TLSServicePath, Owner: "root:" + model.TLSGroup, Mode: 0o640, Bytes: []byte(model.SecretTLSService.Placeholder() + "\n")},
	}}, nil
}
