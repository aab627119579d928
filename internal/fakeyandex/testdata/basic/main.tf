# A small configuration in the shape pghac emits: every resource type the
# Yandex target uses, set blocks, a data source and a sensitive variable
# rendered by templatefile().
terraform {
  required_providers {
    yandex = {
      source  = "yandex-cloud/yandex"
      version = ">= 0.100"
    }
  }
}

provider "yandex" {
  zone = var.zone
}

variable "zone" {
  type    = string
  default = "ru-central1-a"
}

variable "cores" {
  type    = number
  default = 2
}

variable "image_family" {
  type    = string
  default = "debian-12"
}

variable "network_name" {
  type    = string
  default = "pghac"
}

# A default instead of a var file, which .gitignore rules for secrets could
# drop from the repository.
variable "db_password" {
  type      = string
  sensitive = true
  default   = "not-a-real-secret"
}

resource "yandex_vpc_network" "net" {
  name = var.network_name
}

resource "yandex_vpc_subnet" "a" {
  name           = "pghac-a"
  zone           = var.zone
  network_id     = yandex_vpc_network.net.id
  v4_cidr_blocks = ["10.128.0.0/24"]
}

resource "yandex_vpc_security_group" "db" {
  name       = "pghac-db"
  network_id = yandex_vpc_network.net.id

  ingress {
    description    = "ssh"
    protocol       = "TCP"
    port           = 22
    v4_cidr_blocks = ["203.0.113.0/24"]
  }

  ingress {
    description       = "cluster"
    protocol          = "TCP"
    from_port         = 5432
    to_port           = 6432
    predefined_target = "self_security_group"
  }

  egress {
    protocol       = "ANY"
    v4_cidr_blocks = ["0.0.0.0/0"]
  }
}

data "yandex_compute_image" "os" {
  family = var.image_family
}

resource "yandex_compute_instance" "node0" {
  name                      = "node0"
  platform_id               = "standard-v3"
  zone                      = var.zone
  allow_stopping_for_update = true

  resources {
    cores         = var.cores
    memory        = 4
    core_fraction = 50
  }

  boot_disk {
    initialize_params {
      image_id = data.yandex_compute_image.os.id
      size     = 10
      type     = "network-ssd"
    }
  }

  network_interface {
    subnet_id          = yandex_vpc_subnet.a.id
    ip_address         = "10.128.0.16"
    nat                = true
    security_group_ids = [yandex_vpc_security_group.db.id]
  }

  scheduling_policy {
    preemptible = true
  }

  metadata = {
    user-data = templatefile("${path.module}/user-data.yaml.tftpl", { db_password = var.db_password })
  }
}

resource "yandex_lb_target_group" "db" {
  name = "pghac-db"

  target {
    subnet_id = yandex_vpc_subnet.a.id
    address   = yandex_compute_instance.node0.network_interface[0].ip_address
  }
}

resource "yandex_lb_network_load_balancer" "db" {
  name = "pghac-db"
  type = "internal"

  listener {
    name        = "primary"
    port        = 5000
    target_port = 6432
    internal_address_spec {
      subnet_id = yandex_vpc_subnet.a.id
    }
  }

  attached_target_group {
    target_group_id = yandex_lb_target_group.db.id
    healthcheck {
      name = "patroni-primary"
      http_options {
        port = 8008
        path = "/primary"
      }
    }
  }
}

output "node0_nat_ip" {
  value = yandex_compute_instance.node0.network_interface[0].nat_ip_address
}

output "image_id" {
  value = data.yandex_compute_image.os.id
}
