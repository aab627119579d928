# Values outside what each setting accepts.
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
  pgbouncer {
    pool_mode          = "pipelined" # ERROR: Invalid pool mode
    server_login_retry = "soon"      # ERROR: Invalid duration
    default_pool_size  = 0           # ERROR: Invalid default_pool_size
  }
  haproxy {
    replica_max_lag = "1 megabyte" # ERROR: Invalid size
    check {
      inter = "10ms" # ERROR: Health check too frequent
    }
  }
  backend {
    user = "postgres" # ERROR: Invalid database user
    artifact {
      url    = "ftp://example.com/pghac-backend" # ERROR: Invalid artifact URL
      sha256 = "abc"                             # ERROR: Invalid SHA-256
    }
  }
  state {
    bucket = "Bad_Bucket" # ERROR: Invalid bucket name
    key    = "/abs/key"   # ERROR: Invalid state key
    lock_table    = "x"                     # ERROR: Invalid lock table
    lock_endpoint = "http://docapi.example" # ERROR: Invalid lock endpoint
  }
  backup {
    bucket = "pghac-err-bad-values-backups"
  }
}
