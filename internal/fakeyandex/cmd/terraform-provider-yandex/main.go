// Command terraform-provider-yandex is pghac's offline stand-in for the
// Yandex Cloud provider (see internal/fakeyandex). Tests install it into a
// filesystem mirror; Terraform starts it, nobody else should.
package main

import (
	"fmt"
	"os"

	"github.com/pghac/pghac/internal/fakeyandex"
)

func main() {
	if err := fakeyandex.Serve(); err != nil {
		fmt.Fprintln(os.Stderr, "terraform-provider-yandex (pghac offline):", err)
		os.Exit(1)
	}
}
