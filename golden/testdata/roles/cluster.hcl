# Applications' roles and databases: created through the leader, logged in through PgBouncer
# (auth_query), one database pooled per transaction.
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
  backend {
    artifact {
      url    = "https://example.com/pghac-backend"
      sha256 = "5d5b09f6dcb2d53a5fffc60c4ac0d55fabdf556069d6631545f42aa6e3500f2e"
    }
  }
  role "shop" {
    connection_limit = 50
  }
  role "reports" {}
  database "shop" {
    owner = "shop"
  }
  database "shop_events" {
    owner            = "shop"
    connection_limit = 20
    # Its writers use the simple protocol: transaction pooling serves them with fewer
    # server connections.
    pool_mode = "transaction"
  }
  database "analytics" {
    owner = "reports"
  }
  backup {
    bucket = "pghac-roles-backups"
  }
}
