// Package realcheck runs the real validators of the components pghac configures (cloud-init,
// Patroni, HAProxy) on emitted files, and finds and runs the real terraform on emitted modules,
// for tests across the repository. It also holds the fixed fake secret values that turn an
// emitted file into what a node would receive.
//
// Patroni's validator judges the build host as well as the file (ports in use, addresses it
// cannot reach, directories it lacks): Patroni drops exactly those verdicts and reports the
// rest. A missing validator binary is an error, never a skip: callers decide whether to skip.
package realcheck
