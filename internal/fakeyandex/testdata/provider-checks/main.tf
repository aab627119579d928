# Mistakes only the provider catches, which the offline provider re-implements
# from the schema's validate/conflicts_with/deprecated keys, plus one
# conflicts_with the real provider never enforces (boot_disk), which must
# stay silent.
terraform {
  required_providers {
    yandex = {
      source = "yandex-cloud/yandex"
    }
  }
}

variable "port" {
  type = number
}

resource "yandex_vpc_security_group" "sg" {
  network_id = "enpexample"

  ingress {
    protocol       = "TCP"
    port           = 70000
    v4_cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    protocol       = "TCP"
    port           = var.port
    v4_cidr_blocks = ["0.0.0.0/0"]
  }
}

data "yandex_compute_image" "img" {
  family   = "debian-12"
  image_id = "fd8example"
}

resource "yandex_compute_instance" "vm" {
  network_acceleration_type = "fast"

  resources {
    cores  = 2
    memory = 2
  }

  boot_disk {
    disk_id = "fhmexample"
    initialize_params {
      image_id = "fd8example"
    }
  }

  network_interface {
    subnet_id = "e9bexample"
  }
}

resource "yandex_lockbox_secret" "s" {
  password_payload_specification {
    password_key         = "password"
    included_punctuation = "!"
    excluded_punctuation = "?"
  }
}

resource "yandex_storage_bucket" "b" {
  bucket = "pghac-example"
  acl    = "private"
}
