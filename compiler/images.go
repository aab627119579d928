package compiler

import "github.com/pghac/pghac/compiler/model"

// images is the one table of what differs per operating system image: package names, the
// PostgreSQL major version the image's archive ships, paths, and the Patroni version (which
// decides whether failsafe_mode exists). Keys are Yandex Cloud image families.
var images = []model.OS{
	{
		ImageFamily:      "debian-12",
		Name:             "Debian 12 (bookworm)",
		PostgresMajor:    15,
		PatroniVersion:   "3.0",
		SupportsFailsafe: true,
		DefaultUser:      "debian",
	},
	{
		ImageFamily:      "ubuntu-2204-lts",
		Name:             "Ubuntu 22.04 LTS (jammy)",
		PostgresMajor:    14,
		PatroniVersion:   "2.1",
		SupportsFailsafe: false,
		DefaultUser:      "ubuntu",
	},
	{
		ImageFamily:      "ubuntu-2404-lts",
		Name:             "Ubuntu 24.04 LTS (noble)",
		PostgresMajor:    16,
		PatroniVersion:   "3.2",
		SupportsFailsafe: true,
		DefaultUser:      "ubuntu",
	},
}

// image returns the table row for family with its derived fields filled in.
func image(family string) (model.OS, bool) {
	for _, os := range images {
		if os.ImageFamily != family {
			continue
		}
		// Debian and Ubuntu lay PostgreSQL out the same way (postgresql-common); only the major
		// version differs, so paths and package names derive from it.
		v := itoa(os.PostgresMajor)
		os.Packages = []string{
			"curl", // downloads the backend binary
			"etcd-client", "etcd-server", "haproxy",
			"nftables", // keeps all but root off the metadata service (emit/cloudinit)
			"patroni", "pgbouncer",
			"postgresql-" + v,
			"python3-etcd",     // Patroni's etcd3 DCS imports python-etcd's helpers
			"python3-psycopg2", // Patroni's PostgreSQL driver
		}
		os.BinDir = "/usr/lib/postgresql/" + v + "/bin"
		os.DataDir = "/var/lib/postgresql/" + v + "/main"
		os.DefaultCluster = v + "/main"
		return os, true
	}
	return model.OS{}, false
}

func imageFamilies() []string {
	out := make([]string, len(images))
	for i, os := range images {
		out[i] = os.ImageFamily
	}
	return out
}
