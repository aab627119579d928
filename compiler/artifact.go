package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

var sha256RE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// emptySHA256 is the checksum of an empty file: what a checksum of a download that failed
// quietly, or of a file not built yet, says.
var emptySHA256 = func() string { h := sha256.Sum256(nil); return hex.EncodeToString(h[:]) }()

// compileArtifact checks a downloadable binary's location and checksum. Without a block the
// binary is pghac's local build: url and sha256 are then the template placeholders urlVar and
// shaVar, filled in by the target (the yandex module uploads the build, `pghac up` serves it).
func compileArtifact(d *diags, a *schema.Artifact, target model.Target, urlVar, shaVar string) (url, sha256 string, local bool) {
	if a == nil {
		return "${" + urlVar + "}", "${" + shaVar + "}", true
	}
	if strings.Contains(a.URL, "${") || strings.Contains(a.URL, "%{") {
		d.artifactURLTemplate(a.URLRange, a.URL)
	}
	if !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "http://") {
		d.artifactURLScheme(a.URLRange, a.URL)
	}
	sum := strings.ToLower(a.SHA256)
	switch {
	case !sha256RE.MatchString(a.SHA256):
		d.invalidSHA256(a.SHA256Range)
	case target == model.TargetSandbox:
		// The sandbox serves the host's build whatever the cloud downloads.
		return "${" + urlVar + "}", "${" + shaVar + "}", true
	case strings.Count(sum, sum[:1]) == len(sum) || sum == emptySHA256:
		d.placeholderSHA256(a.SHA256Range, sum)
	}
	return a.URL, sum, false
}
