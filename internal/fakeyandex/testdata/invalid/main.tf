# Mistakes Terraform itself must catch from the schema the offline provider
# serves: a misspelled argument and a missing required block.
terraform {
  required_providers {
    yandex = {
      source = "yandex-cloud/yandex"
    }
  }
}

resource "yandex_compute_instance" "node0" {
  name        = "node0"
  platfrom_id = "standard-v3"

  boot_disk {
    initialize_params {
      image_id = "fd8example"
    }
  }

  network_interface {
    subnet_id = "e9bexample"
  }
}
