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
  # Lockbox holds 32 entries: pghac's 10 secrets (backups on) and 4 of TLS (the authority, a
  # certificate per node) leave 18 role passwords.
  role "app01" {}
  role "app02" {}
  role "app03" {}
  role "app04" {}
  role "app05" {}
  role "app06" {}
  role "app07" {}
  role "app08" {}
  role "app09" {}
  role "app10" {}
  role "app11" {}
  role "app12" {}
  role "app13" {}
  role "app14" {}
  role "app15" {}
  role "app16" {}
  role "app17" {}
  role "app18" {} # ERROR: Too many roles
  role "app19" {}
  role "app20" {}
  role "app21" {}
  role "app22" {}
  role "app23" {}
  backup {
    bucket = "pghac-err-many-roles-backups"
  }
}
