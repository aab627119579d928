# The stock timings (Patroni's defaults ttl 30, loop_wait 10, retry_timeout 10; the usual
# HAProxy check inter 3s fall 3 rise 2; etcd's heartbeat 100ms and election timeout 1000ms)
# on the repository's cluster, for the side-by-side drills of BENCHMARKS.md
# (make drill-compare). Everything else is ./cluster.hcl's.
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
    ttl              = 30
    loop_wait        = 10
    retry_timeout    = 10
    synchronous_mode = true
    failsafe_mode    = true
    use_pg_rewind    = true
  }

  etcd {
    heartbeat_interval = "100ms"
    election_timeout   = "1000ms"
  }
  pgbouncer {
    pool_mode = "transaction"
  }

  haproxy {
    check {
      inter = "3s"
      fall  = 3
      rise  = 2
    }
  }

  backend {
    port = 8080
  }

  load_generator {
    zone    = "ru-central1-d"
    address = "10.130.0.100"
    # It runs the load tests with the pghac you run (uploaded like the backend).
  }

  # An internal network load balancer whose only healthy target is the primary.
  load_balancer {
    type = "internal"
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
