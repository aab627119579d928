// Command pghac compiles cluster.hcl into deploy/<target>/: everything needed to run a highly
// available PostgreSQL cluster (etcd, Patroni, PgBouncer, HAProxy, configured by cloud-init).
//
// This package is CLI wiring only: it parses flags (one pflag.FlagSet per subcommand), reads
// files and the environment, picks colour, prints diagnostics and maps outcomes to exit codes.
// Everything else lives below it: schema, compiler and emit build the artifacts; infra runs
// Terraform; internal/site lays out the state folder, internal/provision drives a target's
// Terraform runs and the sandbox's lifecycle, internal/view renders what is printed,
// internal/health says whether the cluster is healthy, internal/rollout
// changes a running cluster, internal/drill and internal/load test it. A command resolves its
// flags, calls those in order and prints what they return. run is the testable entry point;
// main is the only caller of os.Exit.
package main
