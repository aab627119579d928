# Backups with every setting written: incremental backups between the full ones, a month of
# point-in-time recovery, lz4, and a tighter archive timeout.
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
    bucket            = "acme-pg-main-backups"
    full              = "Sat,Wed 01:30"
    incremental       = "daily"
    retention         = "4w"
    archive_timeout   = "30s"
    archive_queue_max = "4GB"
    compression       = "lz4"
    compression_level = 2
  }
}
