package compiler

import (
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// compilePostgres resolves the postgres block: the version follows the image (osOK: the image
// is known), and the parameters are derived from the nodes and c.PgBouncer's pool size
// (params.go), then overridden by the file's.
func compilePostgres(d *diags, sc *schema.Cluster, c *model.Cluster, osOK bool) model.Postgres {
	pg := model.Postgres{Major: c.OS.PostgresMajor, Port: defaultPostgresPort}
	if sp := sc.Postgres; sp != nil {
		pg.Port = deref(sp.Port, pg.Port)
		if sp.Version != nil && osOK && *sp.Version != c.OS.PostgresMajor {
			var other []string
			for _, fam := range imageFamilies() {
				if os, _ := image(fam); os.PostgresMajor == *sp.Version {
					other = append(other, fam)
				}
			}
			d.postgresVersionMismatch(sp.VersionRange, c.OS, *sp.Version, other)
		}
	}
	if len(c.Nodes) == 0 {
		return pg
	}
	var params *schema.Parameters
	if sc.Postgres != nil {
		params = sc.Postgres.Parameters
	}
	pg.Parameters = applyUserParameters(d, deriveParameters(c.Nodes, c.PgBouncer.DefaultPoolSize), params)
	return pg
}
