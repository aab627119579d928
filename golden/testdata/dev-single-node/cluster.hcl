# A one-node development cluster: allowed with the explicit flag, and warned about.
cluster "dev" {
  dev_single_node = true # WARNING: Single-node development cluster
  network {
    subnet "ru-central1-d" {
      cidr = "10.130.0.0/24"
    }
  }
  node "dev" {
    zone    = "ru-central1-d"
    address = "10.130.0.10"
  }
  backup {
    bucket = "pghac-dev-single-node-backups"
  }
}
