# Cloud resource names are <cluster>-<part> (63 characters at most), and the VPC is IPv4 only.
cluster "a-cluster-name-far-too-long-for-prefixes" { # ERROR: Name too long
  network {
    subnet "ru-central1-a" {
      cidr = "10.128.0.0/24"
    }
    subnet "ru-central1-b" {
      cidr = "10.129.0.0/24"
    }
    subnet "ru-central1-d" {
      cidr = "10.130.0.0/24"
    }
    admin_cidrs = ["2001:db8::/32"] # ERROR: IPv6 not supported
  }
  node "node0" {
    zone    = "ru-central1-a"
    address = "10.128.0.16"
  }
  node "node1" {
    zone    = "ru-central1-b"
    address = "10.129.0.14"
  }
  node "node2" {
    zone    = "ru-central1-d"
    address = "10.130.0.28"
  }
  backup {
    bucket = "pghac-err-cloud-limits-backups"
  }
}
