// Command pghac-backend serves the notes HTTP JSON API (internal/backend) on a node: reads
// through HAProxy's replica port, writes through its primary port. It is a thin main:
// flags, the password file, the listener and signals; everything else is the package's.
//
//	pghac-backend --listen 0.0.0.0:8080 --tls-cert /etc/pghac/tls/service.pem \
//	    --write-dsn 'postgres://notes@127.0.0.1:5000/notes?sslmode=verify-full&sslrootcert=/etc/pghac/tls/ca.crt' \
//	    --read-dsn 'postgres://notes@127.0.0.1:5001/notes?sslmode=verify-full&sslrootcert=/etc/pghac/tls/ca.crt'
//
// With --tls-cert it serves HTTPS only, and reads the certificate again on SIGHUP.
// The database password is read from --password-file, by default
// $CREDENTIALS_DIRECTORY/db-password (systemd's LoadCredential=db-password:...), and never
// from the command line. SIGTERM or SIGINT stops it gracefully (exit 0). Exit codes: 1 for a
// fatal error (the listener, the password file), 2 for a bad command line.
package main
