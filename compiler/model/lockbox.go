package model

// How a node gets its secrets: its user-data holds only their placeholders, and its first boot
// fills them in from a Lockbox secret, read with the VM's own service account through the
// metadata service (emit/cloudinit's secrets script). The two metadata attributes tell the
// script which secret and where; the yandex Terraform sets them on each VM, the sandbox's
// machine-up registers them with its stand-in metadata service.
const (
	// MetadataSecretID is the attribute holding the Lockbox secret's id.
	MetadataSecretID = "pghac-lockbox-secret-id"
	// MetadataPayloadEndpoint is the attribute holding the base URL of Lockbox's payload API.
	MetadataPayloadEndpoint = "pghac-lockbox-payload-endpoint"
)

// YandexLockboxPayloadEndpoint is where Yandex Cloud serves Lockbox's payloads, which the
// nodes read (internal/lockbox has the others).
const YandexLockboxPayloadEndpoint = "https://payload.lockbox.api.cloud.yandex.net"

// The sandbox's stand-in cloud API on the host's bridge address (internal/sandbox): Lockbox
// over TLS (the sandbox CA), and the metadata service, which machines reach at the cloud's
// link-local address (MetadataAddr) and the host redirects here.
const (
	SandboxLockboxPort  = 9444
	SandboxMetadataPort = 9480
	// MetadataAddr and MetadataPort are where a VM reaches its metadata service.
	MetadataAddr = "169.254.169.254"
	MetadataPort = 80
)

// SandboxSecretID is the id of the sandbox's Lockbox secret of cluster name: the stand-in
// creates a secret on its first version, where the cloud's is made by Terraform.
func SandboxSecretID(name string) string { return "sandbox-" + name + "-secrets" }
