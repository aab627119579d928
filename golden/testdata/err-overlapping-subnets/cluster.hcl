# Subnets of two zones overlap.
cluster "main" {
  network {
    subnet "ru-central1-a" {
      cidr = "10.128.0.0/16"
    }
    subnet "ru-central1-b" {
      cidr = "10.128.64.0/24" # ERROR: Overlapping subnets
    }
    subnet "ru-central1-d" {
      cidr = "10.130.0.0/24"
    }
  }
  node "node0" {
    zone    = "ru-central1-a"
    address = "10.128.0.16"
  }
  node "node1" {
    zone    = "ru-central1-b"
    address = "10.128.64.14"
  }
  node "node2" {
    zone    = "ru-central1-d"
    address = "10.130.0.28"
  }
  backup {
    bucket = "pghac-err-overlapping-subnets-backups"
  }
}
