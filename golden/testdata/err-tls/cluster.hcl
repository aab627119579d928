# The certificates' settings, and a load balancer's address the service certificate names.
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
  load_balancer {
    type    = "internal"
    zone    = "ru-central1-b"
    address = "10.128.0.100" # ERROR: Invalid load balancer address
  }
  tls {
    extra_names = [
      "db.example.com",
      "DB.example.com", # ERROR: Duplicate extra name
      "not a name",     # ERROR: Invalid extra name
      "10.1.2.3",
      "*.pg.example.com",
    ]
    lifetime     = "20d" # WARNING: Certificates renewed on every run
    renew_before = "3 weeks" # ERROR: Invalid renew_before
  }
  backup {
    bucket = "pghac-err-tls-backups"
  }
}
