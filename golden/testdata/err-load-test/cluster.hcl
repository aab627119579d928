# Load tests the runner could not run: bad schedules, ammo, nodes and autostop criteria.
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
  load_test "args" {
    schedule = "line(1, 10)" # ERROR: Invalid schedule
  }
  load_test "unit" {
    schedule = "const(10, 1.5h)" # ERROR: Invalid schedule
  }
  load_test "name" {
    schedule = "lien(1, 10, 1m)" # ERROR: Invalid schedule
  }
  load_test "ammo" {
    schedule = "const(10, 1m)"
    ammo     = ["get", "delete", "get"] # ERROR: Unknown ammo # ERROR: Duplicate ammo
  }
  load_test "target" {
    schedule  = "step(10, 50, 10, 30s)"
    node      = "node9" # ERROR: Unknown node
    instances = 0       # ERROR: Invalid instances
    timeout   = "later" # ERROR: Invalid duration
    autostop  = ["http(5xx,10%,5s)", "steady_cumulative(10s)"] # ERROR: Invalid autostop criterion
  }
  load_test "args" { # ERROR: Duplicate load test
    schedule = "const(1, 1s)"
  }
  backup {
    bucket = "pghac-err-load-test-backups"
  }
}
