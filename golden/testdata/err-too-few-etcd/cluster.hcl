# Two nodes: etcd has no quorum after losing one, and sync mode has one replica.
cluster "main" { # ERROR: Too few etcd members
  network {
    subnet "ru-central1-a" {
      cidr = "10.128.0.0/24"
    }
    subnet "ru-central1-b" {
      cidr = "10.129.0.0/24"
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
  patroni {
    synchronous_mode = true # WARNING: Synchronous mode with too few replicas
  }
  backup {
    bucket = "pghac-err-too-few-etcd-backups"
  }
}
