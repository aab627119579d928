package compiler

import (
	"regexp"
	"strings"

	"github.com/pghac/pghac/schema"
)

var sha256RE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// compileArtifact checks a downloadable binary's location and checksum; "" for a nil block.
func compileArtifact(d *diags, a *schema.Artifact) (url, sha256 string) {
	if a == nil {
		return "", ""
	}
	if strings.Contains(a.URL, "${") || strings.Contains(a.URL, "%{") {
		d.artifactURLTemplate(a.URLRange, a.URL)
	}
	if !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "http://") {
		d.artifactURLScheme(a.URLRange, a.URL)
	}
	if !sha256RE.MatchString(a.SHA256) {
		d.invalidSHA256(a.SHA256Range)
	}
	return a.URL, strings.ToLower(a.SHA256)
}
