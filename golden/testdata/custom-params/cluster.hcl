# User PostgreSQL parameters override derived ones; custom ports and pool settings.
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
  postgres {
    port = 5433
    parameters {
      max_connections            = 300
      work_mem                   = "64MB"
      log_min_duration_statement = "250ms"
      jit                        = false
    }
  }
  pgbouncer {
    pool_mode          = "transaction" # WARNING: Pooling that breaks prepared statements
    default_pool_size  = 50
    server_login_retry = "2s"
  }
  haproxy {
    primary_port    = 15000
    replica_port    = 15001
    replica_max_lag = "16MB"
  }
  state {
    bucket        = "pghac-tfstate"
    lock_table    = "pghac-tfstate-lock"
    lock_endpoint = "https://docapi.serverless.yandexcloud.net/ru-central1/b1gexamplecloud/etnexampledb"
  }
  backup {
    bucket              = "pghac-custom-params-backups"
    deletion_protection = false
  }
}
