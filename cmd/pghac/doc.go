// Command pghac compiles cluster.hcl into deploy/<target>/: everything needed to run a highly
// available PostgreSQL cluster (etcd, Patroni, PgBouncer, HAProxy, configured by cloud-init).
//
// This package is CLI wiring only: it parses flags (one pflag.FlagSet per subcommand), reads
// files and the environment, picks colour, prints diagnostics and maps outcomes to exit codes.
// Everything else lives in schema, compiler and emit. run is the testable entry point; main is
// the only caller of os.Exit.
package main
