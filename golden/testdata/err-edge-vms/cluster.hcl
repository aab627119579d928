# The load generator needs its own address, and a load balancer is internal or external.
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
  load_generator {
    zone    = "ru-central1-a"
    address = "10.128.0.16" # ERROR: Duplicate node address
  }
  load_balancer {
    type = "global" # ERROR: Invalid load balancer type
  }
  backup {
    bucket = "pghac-err-edge-vms-backups"
  }
}
