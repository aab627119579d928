package compiler

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

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
	seen := map[string]hcl.Range{}
	var out []model.Role
	for _, sr := range sc.Roles {
		if first, dup := seen[sr.Name]; dup {
			d.errorf(sr.NameRange, "Duplicate role", "A role named %q was already declared at %s.", sr.Name, at(first))
			continue
		}
		seen[sr.Name] = sr.NameRange
		if !checkIdent(d, "role", sr.Name, sr.NameRange, reserved) {
			continue
		}
		out = append(out, model.Role{
			Name:            sr.Name,
			ConnectionLimit: connectionLimit(d, sr.ConnectionLimit, sr.ConnectionLimitRange),
			DeclRange:       sr.DefRange,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

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
	seen := map[string]hcl.Range{}
	var out []model.Database
	for _, sd := range sc.Databases {
		if first, dup := seen[sd.Name]; dup {
			d.errorf(sd.NameRange, "Duplicate database", "A database named %q was already declared at %s.", sd.Name, at(first))
			continue
		}
		seen[sd.Name] = sd.NameRange
		valid := checkIdent(d, "database", sd.Name, sd.NameRange, reserved)
		if !declared[sd.Owner] {
			valid = false
			hint := "Declare it with a role block, or name one of the declared roles."
			if len(names) > 0 {
				hint = "Declared roles: " + strings.Join(names, ", ") + "."
			}
			d.errorf(sd.OwnerRange, "Undeclared database owner",
				"owner = %q is not a role of this file: a database's owner must be a role block, so that pghac creates it (with its password) before the database. %s", sd.Owner, hint)
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
		d.errorf(rng, "Invalid "+what+" name",
			"%q can't be used as a %s name: use lowercase letters, digits and underscores, starting with a letter or underscore (at most 63 characters).", name, what)
	case strings.HasPrefix(name, "pg_"):
		d.errorf(rng, "Reserved "+what+" name", "%q: PostgreSQL reserves names starting with pg_.", name)
	case contains(reserved, name):
		d.errorf(rng, "Reserved "+what+" name",
			"%q is one of pghac's own (%s): pghac creates and manages it. Choose another name.", name, strings.Join(reserved, ", "))
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
		d.errorf(rng, "Invalid connection_limit", "connection_limit = %d; use a number of connections, or -1 for no limit.", *v)
		return -1
	}
	return *v
}

// poolModes are PgBouncer's pool modes.
var poolModes = []string{model.PoolSession, model.PoolTransaction, model.PoolStatement}

func checkPoolMode(d *diags, mode string, rng hcl.Range) bool {
	if !contains(poolModes, mode) {
		d.errorf(rng, "Invalid pool mode", "pool_mode = %q; use \"session\", \"transaction\" or \"statement\".", mode)
		return false
	}
	return true
}
