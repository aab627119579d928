# Five nodes, all etcd members; node4 has more memory (parameters follow the smallest node).
# TARGETS: yandex sandbox
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
  }
  vm {
    cores         = 4
    core_fraction = 50
    memory_gb     = 8
    disk {
      size_gb = 10
    }
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
  node "node3" {
    zone    = "ru-central1-a"
    address = "10.128.0.17"
  }
  node "node4" {
    zone    = "ru-central1-b"
    address = "10.129.0.15"
    vm {
      memory_gb = 16
    }
  }
  backup {
    bucket = "pghac-five-nodes-backups"
  }
}
