# Roles and databases pghac refuses: its own names, reserved prefixes, undeclared owners,
# duplicates and bad limits.
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
  role "app" {
    connection_limit = -5 # ERROR: Invalid connection_limit
  }
  role "replicator" {} # ERROR: Reserved role name
  role "notes" {}      # ERROR: Reserved role name
  role "pg_app" {}     # ERROR: Reserved role name
  role "App-1" {}      # ERROR: Invalid role name
  role "app" {}        # ERROR: Duplicate role
  database "app" {
    owner     = "app"
    pool_mode = "pipelined" # ERROR: Invalid pool mode
  }
  database "template1" { # ERROR: Reserved database name
    owner = "app"
  }
  database "billing" {
    owner = "billing" # ERROR: Undeclared database owner
  }
  database "app" { # ERROR: Duplicate database
    owner = "app"
  }
  pgbouncer {
    pool_mode = "statement" # WARNING: Pooling that breaks prepared statements
  }
  backup {
    bucket = "pghac-err-roles-backups"
  }
}
