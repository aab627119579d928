# Endpoints opened to the internet are allowed, and warned about.
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
    admin_cidrs  = ["203.0.113.0/24"]
    client_cidrs = ["0.0.0.0/0"] # WARNING: Database endpoints open to the internet
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
    allow_from = ["0.0.0.0/0"] # WARNING: Backend open to the internet
    artifact {
      url    = "https://example.com/pghac-backend"
      sha256 = "5d5b09f6dcb2d53a5fffc60c4ac0d55fabdf556069d6631545f42aa6e3500f2e"
    }
  }
  load_balancer {
    type = "external" # WARNING: Primary reachable from the internet
    address = "198.51.100.10"
  }
  tls {
    extra_names  = ["db.example.com", "198.51.100.20"]
    lifetime     = "90d"
    renew_before = "20d"
  }
  backup {
    bucket = "pghac-public-endpoints-backups"
  }
}
