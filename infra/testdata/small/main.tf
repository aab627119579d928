# A small configuration of the Yandex provider's resources for infra's tests.

resource "yandex_vpc_network" "net" {
  name = "infra-test"
}

resource "yandex_vpc_subnet" "a" {
  name           = "infra-test-a"
  zone           = "ru-central1-a"
  network_id     = yandex_vpc_network.net.id
  v4_cidr_blocks = ["10.128.0.0/24"]
}

resource "yandex_vpc_security_group" "sg" {
  name       = "infra-test"
  network_id = yandex_vpc_network.net.id
  ingress {
    protocol       = "TCP"
    port           = 5432
    v4_cidr_blocks = ["10.128.0.0/24"]
  }
  egress {
    protocol       = "ANY"
    v4_cidr_blocks = ["0.0.0.0/0"]
  }
}

data "yandex_compute_image" "image" {
  family = var.image_family
}

resource "yandex_compute_instance" "vm" {
  name        = "vm"
  platform_id = "standard-v3"
  zone        = "ru-central1-a"
  labels      = { label = var.label }

  resources {
    cores         = var.cores
    memory        = 2
    core_fraction = 50
  }

  boot_disk {
    initialize_params {
      image_id = data.yandex_compute_image.image.id
      size     = 10
    }
  }

  network_interface {
    subnet_id          = yandex_vpc_subnet.a.id
    security_group_ids = [yandex_vpc_security_group.sg.id]
  }

  metadata = {
    user-data = templatefile("${path.module}/nodes/vm/user-data.yaml", { secret = var.secret })
  }
}

output "address" {
  value = yandex_compute_instance.vm.network_interface[0].ip_address
}
