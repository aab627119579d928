# A retired zone (with its replacement named), an unknown zone, and a node in a zone without a subnet.
cluster "main" {
  network {
    subnet "ru-central1-a" {
      cidr = "10.128.0.0/24"
    }
    subnet "ru-central1-c" { # ERROR: Retired zone
      cidr = "10.129.0.0/24"
    }
    subnet "eu-north1-a" { # ERROR: Unknown zone
      cidr = "10.130.0.0/24"
    }
  }
  node "node0" {
    zone    = "ru-central1-a"
    address = "10.128.0.16"
  }
  node "node1" {
    zone    = "ru-central1-c" # ERROR: Retired zone
    address = "10.129.0.14"
  }
  node "node2" {
    zone    = "ru-central1-b" # ERROR: No subnet for zone
    address = "10.130.0.28"
  }
  backup {
    bucket = "pghac-err-zones-backups"
  }
}
