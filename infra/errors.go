package infra

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNoPlan is returned by Show and Apply when the working directory holds no saved plan.
var ErrNoPlan = errors.New("no saved plan")

// FingerprintError is returned by Apply when the saved plan was made from other inputs than
// the caller has now: applying it would not apply what the caller believes it applies.
type FingerprintError struct {
	Planned, Current string
}

func (e *FingerprintError) Error() string {
	return "the saved plan was made from different inputs than the current ones"
}

// TerraformError is a failed Terraform command. Its text is Terraform's own error output with
// every secret the Workdir knows replaced by "(redacted)".
type TerraformError struct {
	Op     string // the terraform subcommand: "init", "plan", ...
	Detail string // Terraform's stderr, redacted and trimmed
	err    error
}

func (e *TerraformError) Error() string {
	switch {
	case e.Interrupted():
		return fmt.Sprintf("terraform %s: interrupted", e.Op)
	case e.Detail == "":
		return fmt.Sprintf("terraform %s failed", e.Op)
	}
	return fmt.Sprintf("terraform %s failed:\n%s", e.Op, e.Detail)
}

// Unwrap gives the terraform-exec error, so that errors.Is(err, context.Canceled) works. Its
// text is not redacted: print the TerraformError, not what it wraps.
func (e *TerraformError) Unwrap() error { return e.err }

// Interrupted reports whether the command stopped because its context ended (Ctrl-C).
func (e *TerraformError) Interrupted() bool {
	return errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)
}

// ValidationError is returned by Validate when the configuration has errors.
type ValidationError struct {
	Diagnostics []Diagnostic
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	n := 0
	for _, d := range e.Diagnostics {
		if d.Severity == "error" {
			n++
		}
	}
	fmt.Fprintf(&b, "terraform validate: %d error(s)", n)
	for _, d := range e.Diagnostics {
		if d.Severity == "error" {
			fmt.Fprintf(&b, "\n%s", d)
		}
	}
	return b.String()
}

// redactor replaces secret values in text.
type redactor struct{ values []string }

func newRedactor(values []string) redactor {
	var r redactor
	for _, v := range values {
		// Short values would redact ordinary words; pghac's secrets are 32+ characters.
		if len(v) >= 8 {
			r.values = append(r.values, v)
		}
	}
	return r
}

func (r redactor) apply(s string) string {
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, "(redacted)")
	}
	return s
}
