# An external load balancer passes the clients' own addresses on: the nodes admit client_cidrs
# only, which default to the cluster's own subnets, so it would admit no one.
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
    admin_cidrs = ["0.0.0.0/0"] # WARNING: SSH open to the internet
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
  load_balancer { # WARNING: Load balancer address not in the certificate
    type = "external" # ERROR: External load balancer that admits no one
  }
  backup {
    bucket = "pghac-err-external-lb-backups"
  }
}
