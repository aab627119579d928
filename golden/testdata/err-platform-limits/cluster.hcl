# Core fraction and memory outside what the platform allows; a platform not offered in the zone; an odd core count.
cluster "main" {
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
    admin_cidrs = ["203.0.113.0/24"]
  }
  vm {
    platform      = "standard-v3"
    cores         = 2
    core_fraction = 5  # ERROR: Invalid core fraction
    memory_gb     = 16 # ERROR: Memory outside the platform's range
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
    vm {
      platform = "standard-v1" # ERROR: Platform not offered in zone
      cores    = 3             # ERROR: Invalid core count
    }
  }
  backup {
    bucket = "pghac-err-platform-limits-backups"
  }
}
