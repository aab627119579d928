# The seed's cluster (three nodes, one per zone), rebuilt with pghac's defaults.
# Every attribute not written here has a default: see docs/cluster-hcl.md.

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
    admin_cidrs = ["203.0.113.0/24"] # who may SSH in (TEST-NET-3: replace with yours)
  }

  vm {
    platform      = "standard-v3" # Intel Ice Lake
    cores         = 4
    core_fraction = 50
    memory_gb     = 8
    image_family  = "debian-12"
    disk {
      size_gb = 10
      type    = "network-ssd"
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
    ttl              = 20
    loop_wait        = 2
    retry_timeout    = 4
    synchronous_mode = true
    failsafe_mode    = true
    use_pg_rewind    = true
  }

  haproxy {
    check {
      inter = "1s"
      fall  = 2
      rise  = 1
    }
  }

  # An application's role and database, created through the leader; the role's password is
  # generated like pghac's own. Roles created by hand (CREATE ROLE ... LOGIN PASSWORD) log in
  # through PgBouncer too.
  role "app" {
    connection_limit = 100
  }
  database "app" {
    owner = "app"
  }

  # Every node runs the backend: pghac's own build (bin/pghac-backend after make build), which
  # pghac apply uploads to a private bucket; the nodes download it and check its SHA-256.
  backend {
    port = 8080
  }

  # The one VM with a public address that admits SSH (from admin_cidrs): pghac reaches the nodes
  # through it, and the database VMs get no public address of their own.
  bastion {
    zone    = "ru-central1-a"
    address = "10.128.0.5"
  }

  load_generator {
    zone    = "ru-central1-d"
    address = "10.130.0.100"
    # It runs the load tests with the pghac you run (uploaded like the backend).
  }

  # pgBackRest: WAL archived continuously, a full backup on Sundays and a differential one the
  # other days at 03:00 UTC, two weeks of point-in-time recovery, in a bucket Terraform creates
  # (KMS-encrypted, versioned, private). Bucket names are global: pick your own.
  backup {
    bucket = "pghac-main-backups-example"
  }

  # An internal network load balancer whose only healthy target is the primary.
  load_balancer {
    type = "internal"
    # Fixed, so that the certificate PgBouncer presents is valid for it (clients verify).
    address = "10.128.0.100"
  }

  # `pghac loadtest --scenario mixed`: reads and writes ramping up to 500 requests per second.
  load_test "mixed" {
    schedule = "line(10, 500, 2m)"
    ammo     = ["get", "post"]
  }

  # A quick end-to-end check of the backend under a light, steady load.
  load_test "smoke" {
    schedule = "const(20, 15s)"
  }
}
