# An artifact with a placeholder checksum, which no binary has: every boot would fail at the download.
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
    port = 8080
    artifact {
      url    = "https://storage.yandexcloud.net/pghac-releases/v0.1.0/pghac-backend-linux-amd64"
      sha256 = "0000000000000000000000000000000000000000000000000000000000000000" # ERROR: Placeholder SHA-256
    }
  }
  load_generator {
    zone    = "ru-central1-d"
    address = "10.130.0.100"
    artifact {
      url    = "https://storage.yandexcloud.net/pghac-releases/v0.1.0/pghac-linux-amd64"
      sha256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855" # ERROR: Placeholder SHA-256
    }
  }
  backup {
    bucket = "pghac-err-placeholder-sha256-backups"
  }
}
