# Backup settings that cannot work.
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
  postgres {
    parameters {
      archive_mode = "off" # ERROR: Parameter owned by the backup block
    }
  }
  backup {
    bucket            = "acme-pg-main-backups"
    full              = "Sun 03:00"
    differential      = "Mon..Sat 03:00"
    incremental       = "Tue 03:00" # ERROR: Differential and incremental backups together
    retention         = "5d"        # ERROR: Retention shorter than the full-backup interval
    archive_queue_max = "15GB"      # ERROR: WAL archive queue too large
    compression       = "xz"        # ERROR: Invalid compression
  }
  state {
    bucket     = "acme-pg-main-tfstate"
    lock_table = "tfstate-lock" # ERROR: Half a state lock
  }
}
