package compiler

import (
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

func compileBackend(d *diags, sb *schema.Backend, net model.Network, target model.Target) *model.Backend {
	if sb == nil {
		return nil
	}
	b := &model.Backend{Port: deref(sb.Port, defaultBackendPort), Database: deref(sb.Database, defaultBackendDatabase),
		User: deref(sb.User, defaultBackendUser), DeclRange: sb.DefRange}
	if sb.AllowFrom == nil {
		b.AllowFrom = net.ClientCIDRs
	} else {
		b.AllowFrom = cidrList(d, sb.AllowFrom)
		for i, p := range b.AllowFrom {
			if p.Bits() == 0 && !deref(sb.Public, false) {
				d.backendOpenToInternet(sb.AllowFrom[i].Range, p, b.Port)
			}
		}
	}
	if !identRE.MatchString(b.Database) {
		d.invalidBackendDatabase(sb.DatabaseRange, b.Database)
	}
	if !identRE.MatchString(b.User) || b.User == model.SuperuserName || b.User == model.ReplicationUser || b.User == model.RewindUser {
		d.invalidBackendUser(sb.UserRange, b.User)
	}
	b.ArtifactURL, b.ArtifactSHA256, b.LocalBuild = compileArtifact(d, sb.Artifact, target, model.BackendURLVar, model.BackendSHA256Var)
	return b
}
