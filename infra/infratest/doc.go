// Package infratest lets tests anywhere in the repository run the real
// terraform binary against pghac's offline Yandex provider
// (internal/fakeyandex): Provider builds the provider once per test process,
// installs it into a private filesystem mirror and returns the environment
// (CLI configuration, CHECKPOINT_DISABLE) under which `terraform init`,
// validate, plan, apply and destroy run with no network and no credentials.
//
// It is test support only: pghac's own offline mode uses
// fakeyandex.WriteMirror and fakeyandex.TerraformEnv directly.
package infratest
