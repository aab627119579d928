package compiler

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

func compilePgBouncer(d *diags, sp *schema.PgBouncer) model.PgBouncer {
	b := model.PgBouncer{Port: defaultPgBouncerPort, PoolMode: defaultPoolMode,
		MaxClientConn: defaultMaxClientConn, ServerLoginRetry: defaultServerLoginRetry, QueryWaitTimeout: defaultQueryWaitTimeout}
	var poolSize *int
	var poolSizeRange hcl.Range
	if sp != nil {
		b.Port = deref(sp.Port, b.Port)
		b.PoolMode = deref(sp.PoolMode, b.PoolMode)
		if checkPoolMode(d, b.PoolMode, sp.PoolModeRange) && b.PoolMode != model.PoolSession {
			d.poolingBreaksPrepared(sp.PoolModeRange, b.PoolMode)
		}
		poolSize, poolSizeRange = sp.DefaultPoolSize, sp.DefaultPoolSizeRange
		b.MaxClientConn = positive(d, sp.MaxClientConn, b.MaxClientConn, "max_client_conn", sp.MaxClientConnRange)
		b.ServerLoginRetry = duration(d, sp.ServerLoginRetry, b.ServerLoginRetry, "server_login_retry", sp.ServerLoginRetryRange, time.Second)
		b.QueryWaitTimeout = duration(d, sp.QueryWaitTimeout, b.QueryWaitTimeout, "query_wait_timeout", sp.QueryWaitTimeoutRange, time.Second)
	}
	// In session pooling every client session holds a server connection as long as it
	// lasts, idle or not: a pool must be as large as the sessions it serves.
	def := defaultSessionPoolSize
	if b.PoolMode != model.PoolSession {
		def = defaultTransactionPoolSize
	}
	b.DefaultPoolSize = positive(d, poolSize, def, "default_pool_size", poolSizeRange)
	return b
}

// poolModes are PgBouncer's pool modes.
var poolModes = []string{model.PoolSession, model.PoolTransaction, model.PoolStatement}

// checkPoolMode checks a pool_mode, of the pgbouncer block or of a database block.
func checkPoolMode(d *diags, mode string, rng hcl.Range) bool {
	if !contains(poolModes, mode) {
		d.invalidPoolMode(rng, mode)
		return false
	}
	return true
}
