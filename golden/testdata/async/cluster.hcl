# Asynchronous replication with Patroni's and HAProxy's stock timings.
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
  vm {
    cores         = 4
    core_fraction = 50
    memory_gb     = 8
    preemptible   = true # WARNING: Preemptible database VMs
    disk {
      size_gb = 10
    }
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
  patroni {
    synchronous_mode = false
    ttl              = 30
    loop_wait        = 10
    retry_timeout    = 10
  }
  haproxy {
    check {
      inter = "3s" # WARNING: Slow health checks
      fall  = 3
      rise  = 2
    }
  }
  backup {
    enabled = false # the WAL archive and backups are off: no bucket
  }
}
