# Strings that are not CIDRs or addresses, a CIDR with host bits, a public range.
cluster "main" {
  network {
    subnet "ru-central1-a" {
      cidr = "10.128.0.0/33" # ERROR: Invalid CIDR
    }
    subnet "ru-central1-b" {
      cidr = "10.129.0.1/24" # ERROR: Invalid CIDR
    }
    subnet "ru-central1-d" {
      cidr = "8.8.8.0/24" # ERROR: Subnet outside the private ranges
    }
    admin_cidrs = ["0.0.0.0/0", "office"] # WARNING: SSH open to the internet # ERROR: Invalid CIDR
  }
  node "node0" {
    zone    = "ru-central1-a"
    address = "10.128.0.256" # ERROR: Invalid address
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
    bucket = "pghac-err-invalid-cidr-backups"
  }
}
