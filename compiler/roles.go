package compiler

import (
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// identRE is a PostgreSQL identifier that needs no quoting.
var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ownRoles are the roles and PgBouncer users pghac creates itself: a declared role of the same
// name would take over (or be taken over by) pghac's.
var ownRoles = []string{
	model.SuperuserName, model.ReplicationUser, model.RewindUser,
	model.PgBouncerAuthUser, model.PgBouncerAdminUser, model.PgBouncerAdminDB,
}

// ownDatabases exist in every cluster (PostgreSQL's, and PgBouncer's admin console).
var ownDatabases = []string{model.SuperuserName, "template0", "template1", model.PgBouncerAdminDB}

// compileRoles resolves the role blocks. c.Backend must be compiled: its role is pghac's too.
func compileRoles(d *diags, sc *schema.Cluster, c *model.Cluster) []model.Role {
	reserved := ownRoles
	if c.Backend != nil {
		reserved = append(reserved[:len(reserved):len(reserved)], c.Backend.User)
	}
	seen := firstSeen{}
	var out []model.Role
	for _, sr := range sc.Roles {
		if first, dup := seen.again(sr.Name, sr.NameRange); dup {
			d.duplicateRole(sr.NameRange, first, sr.Name)
			continue
		}
		if !checkIdent(d, "role", sr.Name, sr.NameRange, reserved) {
			continue
		}
		out = append(out, model.Role{
			Name:            sr.Name,
			ConnectionLimit: connectionLimit(d, sr.ConnectionLimit, sr.ConnectionLimitRange),
			DeclRange:       sr.DefRange,
		})
	}
	// Every secret is an entry of the nodes' Lockbox secret, which holds at most
	// maxSecretEntries: the role block (in file order) that goes past it is the error.
	fixed := len((&model.Cluster{Backup: c.Backup, Nodes: c.Nodes}).Secrets())
	// One of them per node (its certificate): a large cluster leaves fewer for roles.
	if room := max(maxSecretEntries-fixed, 0); len(out) > room {
		d.tooManySecrets(out[room].DeclRange, room)
		out = out[:room]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// maxSecretEntries is how many entries a Lockbox secret version may hold.
const maxSecretEntries = 32

// compileDatabases resolves the database blocks; every owner must be a declared role. c.Roles
// must be compiled.
func compileDatabases(d *diags, sc *schema.Cluster, c *model.Cluster) []model.Database {
	reserved := ownDatabases
	if c.Backend != nil {
		reserved = append(reserved[:len(reserved):len(reserved)], c.Backend.Database)
	}
	// A role block with an error of its own has been reported: its databases are not.
	declared := map[string]bool{}
	for _, r := range sc.Roles {
		declared[r.Name] = true
	}
	var names []string
	for _, r := range c.Roles {
		names = append(names, r.Name)
	}
	seen := firstSeen{}
	var out []model.Database
	for _, sd := range sc.Databases {
		if first, dup := seen.again(sd.Name, sd.NameRange); dup {
			d.duplicateDatabase(sd.NameRange, first, sd.Name)
			continue
		}
		valid := checkIdent(d, "database", sd.Name, sd.NameRange, reserved)
		if !declared[sd.Owner] {
			valid = false
			d.undeclaredOwner(sd.OwnerRange, sd.Owner, names)
		}
		db := model.Database{
			Name:            sd.Name,
			Owner:           sd.Owner,
			ConnectionLimit: connectionLimit(d, sd.ConnectionLimit, sd.ConnectionLimitRange),
			DeclRange:       sd.DefRange,
		}
		if sd.PoolMode != nil {
			db.PoolMode = *sd.PoolMode
			valid = checkPoolMode(d, db.PoolMode, sd.PoolModeRange) && valid
		}
		if valid {
			out = append(out, db)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// checkIdent: role and database names are written into SQL and PgBouncer's configuration
// unquoted, and pghac's own names are taken. It reports whether name is usable.
func checkIdent(d *diags, what, name string, rng hcl.Range, reserved []string) bool {
	switch {
	case !identRE.MatchString(name):
		d.invalidIdent(rng, what, name)
	case strings.HasPrefix(name, "pg_"):
		d.pgPrefixedName(rng, what, name)
	case contains(reserved, name):
		d.ownName(rng, what, name, reserved)
	default:
		return true
	}
	return false
}

// connectionLimit is PostgreSQL's CONNECTION LIMIT: -1 (the default) is none.
func connectionLimit(d *diags, v *int, rng hcl.Range) int {
	if v == nil {
		return -1
	}
	if *v < -1 {
		d.invalidConnectionLimit(rng, *v)
		return -1
	}
	return *v
}
