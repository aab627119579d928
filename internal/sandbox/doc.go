// Package sandbox is the machinery of pghac's local target: real machines booted
// with systemd-nspawn on this host, each with its own network namespace, address,
// cgroups and disk, run by the real systemd and cloud-init inside. The CLI (`pghac
// up/down/status` and the hidden `pghac __sandbox` commands that the sandbox's
// Terraform runs) drives it; it knows nothing of Terraform, and of the model only the
// ports it shares with the emitted files (model.SandboxS3Port).
//
// The pieces, in the order `pghac up` uses them:
//
//   - Preflight: root, the host tools (HostPackages), cgroups, and a sandbox
//     network that no host address or route uses; each problem is one sentence
//     naming the fix.
//   - EnsureImage: one cached Debian 12 (bookworm) root per cache key (recipe,
//     the host's Debian sources, Config.Packages), under CacheDir/images. It is
//     debootstrap minbase from the host's own mirror (read from its apt sources,
//     never hard-coded), then cloud-init and the packages installed in a second
//     step, with a policy-rc.d so that no daemon starts in the host's network
//     namespace and a createcluster.d drop-in so that postgresql-NN creates no
//     cluster of its own. Built in a temporary directory and renamed into place.
//   - NetworkUp: a bridge with a fixed MAC and the network's first address, and
//     apt-cacher-ng bound to that address, serving the host's mirror: machines
//     have no route out, and cloud-init's package_update/packages go through it.
//   - CloudAPIUp, ServeCloudAPI (cloudapi.go): the stand-in for the cloud's metadata
//     service and Lockbox (package cloudapi), pghac itself as a daemon on the bridge
//     address: Lockbox over TLS from the sandbox CA, the metadata service redirected
//     from the cloud's 169.254.169.254:80 by an nft nat chain, to which every machine
//     has a route. MachineUp registers a machine's metadata attributes before it boots;
//     LockboxClient is the operator's client of it.
//   - S3Prepare, S3Start/S3Up (s3.go): the backups' S3 server, SeaweedFS built once per
//     host from its Go module under CacheDir/s3, on the bridge with TLS from the
//     sandbox's own CA (StateDir/s3), in a mount namespace with a /tmp of its own;
//     NetworkUp's caller starts it before any machine boots, and the bucket is made
//     by a signed CreateBucket. Cleanup removes its bucket with the machines.
//   - MachineUp: an overlay (--overlay=ROOT:UPPER:/) on the cached root, whose
//     upper dir under StateDir/machines/NAME is the machine's disk; the NoCloud
//     seed (user-data as given, meta-data, a static network-config), the apt
//     proxy setting and the sandbox CA (a system-trusted certificate) written into it; cgroups of its own in every hierarchy
//     before nspawn starts (without them, machines started with --keep-unit and
//     no host systemd share one cgroup tree); nspawn detached in its own session.
//   - Exec and WaitCloudInit: commands inside a machine through nsenter into its
//     PID 1 (machinectl needs a host systemd, which this host does not have).
//   - MachineDown, NetworkDown, Cleanup: stop and remove everything, idempotently.
//     A machine is stopped through nspawn (SIGTERM) and, failing that, its PID 1
//     and cgroups: killing nspawn alone orphans the machine.
//   - Faults, for failover drills (fault.go): Kill (cgroup.kill on the whole
//     machine, a power loss) and Start (boot it again on its disk), Restart
//     (graceful), Freeze/Thaw (cgroup freezer: every process stopped), and
//     Partition/Heal (nft bridge rules in the sandbox's table: no frame in or out
//     of the machine's port, to other machines or to the host).
//
// Facts this relies on were measured on this kind of host and are in
// ../shared/reference/sandbox-notes.md.
package sandbox
