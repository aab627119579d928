variable "secret" {
  type      = string
  sensitive = true
}

variable "label" {
  type    = string
  default = "test"
  validation {
    condition     = length(var.label) <= 8
    error_message = "The label is too long."
  }
}

variable "cores" {
  type    = number
  default = 2
}

variable "image_family" {
  type    = string
  default = "debian-12"
}
