# Just enough configuration for `terraform providers schema -json`.
terraform {
  required_providers {
    yandex = {
      source = "yandex-cloud/yandex"
    }
  }
}
