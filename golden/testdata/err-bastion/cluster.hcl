# The bastion needs its own address and its public address; with network.jump_host set,
# pghac goes through that instead, and says so.
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
    jump_host   = "203.0.113.10"
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
  bastion { # WARNING: Bastion not used by pghac
    zone    = "ru-central1-b"
    address = "10.129.0.14" # ERROR: Duplicate node address
    vm {
      public_ip = false # ERROR: Bastion without a public address
      memory_gb = 1
    }
  }
  backup {
    bucket = "pghac-err-bastion-backups"
  }
}
