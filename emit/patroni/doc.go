// Package patroni emits Patroni's part of a node: its configuration, /etc/patroni/config.yml,
// the file Debian's patroni.service starts Patroni with; the scripts that configuration names
// (the post_bootstrap script, which creates the cluster's roles and databases, and the
// role-change callback that reconnects PgBouncer's pools); and Patroni's steps of the boot
// sequence: on Debian 12's Patroni 3.0.2, the etcd3 leader-lock fix, then enabling and
// starting the unit.
//
// The configuration is marshalled from typed structs with gopkg.in/yaml.v3, so field order is
// declaration order and every value is quoted as YAML needs. Secret values appear only as
// placeholders, single-quoted so that the rendered value stays one YAML string.
//
// Security choices the seed got wrong: Patroni writes the whole pg_hba.conf from
// postgresql.pg_hba (no initdb `trust` line survives, no 10.0.0.0/8), initdb itself never
// writes trust (auth-host/auth-local), and the REST API's unsafe endpoints need a password.
package patroni
