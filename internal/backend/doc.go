// Package backend is the notes HTTP JSON API that runs on every node (cmd/pghac-backend is
// its thin main). It speaks the seed's FastAPI API (GET/POST /notes/, GET/PUT/PATCH/DELETE
// /notes/{id}/) over a table notes, reads through one pgx pool (HAProxy's replica port) and
// writes through another (HAProxy's primary port).
//
// Its contract during a failover: a request that fails because the database is unreachable,
// read-only, shutting down or too slow gets a 503 with Retry-After: 1 and a JSON detail,
// never a 500 and never a hang past the request timeout, and both pools recover by
// themselves when the database is back. A 500 means a bug. Errors are JSON {"detail": "..."}
// as FastAPI's are.
//
// It starts without a database: the table is created (idempotently, through the write
// pool) as soon as the primary answers, and requests get 503s until then. It logs one line
// per startup, shutdown and change of a database's reachability, never one per request,
// and never a password or a DSN. /healthz, /readyz and /metrics (Prometheus, its own
// registry) serve the operators and the load tests.
package backend
