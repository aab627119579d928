package emit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"gopkg.in/yaml.v3"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/emit/artifact"
)

// MaxUserDataSize is the largest user-data Yandex Cloud accepts: a metadata value may be at
// most 256 KiB. Rendered secrets are about as long as their placeholders.
const MaxUserDataSize = 256 << 10

// Check verifies what every emitted file must satisfy beyond artifact.Set's own rules: YAML
// and .tf files parse; each node's user-data is a #cloud-config document Yandex Cloud accepts;
// and no file but the .tf files holds Terraform template syntax other than the placeholders of
// c's secrets (templatefile() renders the user-data, and with it every file it carries). It
// returns every problem found, each an *Error naming the artifact path, joined.
func Check(s *artifact.Set, c *model.Cluster) error {
	problems := check(s, c)
	errs := make([]error, len(problems))
	for i, e := range problems {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// check returns the problems of s in path order, with Family left for the caller to fill in.
func check(s *artifact.Set, c *model.Cluster) []*Error {
	files := s.Files()
	perFile := make([][]error, len(files))
	secrets := c.Secrets()
	// Re-parsing the YAML is most of emit's time on a large cluster: spread it over the cores.
	parallel(len(files), func(i int) { perFile[i] = checkFile(files[i], secrets) })
	var problems []*Error
	for i, errs := range perFile {
		for _, err := range errs {
			problems = append(problems, &Error{Path: files[i].Path, Err: fmt.Errorf("self-check: %w", err)})
		}
	}
	return problems
}

func checkFile(f artifact.File, secrets []model.Secret) []error {
	var errs []error
	if path.Ext(f.Path) == ".tf" {
		// Interpolation is Terraform's own syntax in its configuration, not left for
		// templatefile(): parse it instead.
		if err := checkHCL(f); err != nil {
			errs = append(errs, err)
		}
	} else if err := checkTemplateSyntax(f.Bytes, secrets); err != nil {
		errs = append(errs, err)
	}
	if ext := path.Ext(f.Path); ext == ".yaml" || ext == ".yml" {
		if err := checkYAML(f.Bytes); err != nil {
			errs = append(errs, err)
		}
	}
	if isUserData(f.Path) {
		if !bytes.HasPrefix(f.Bytes, []byte("#cloud-config\n")) {
			errs = append(errs, errors.New(`user-data does not start with "#cloud-config"`))
		}
		if len(f.Bytes) > MaxUserDataSize {
			errs = append(errs, fmt.Errorf("user-data is %d bytes, more than Yandex Cloud's %d", len(f.Bytes), MaxUserDataSize))
		}
	}
	return errs
}

func isUserData(p string) bool {
	ok, _ := path.Match(userDataPath("*"), p)
	return ok
}

// checkHCL parses f as Terraform's native syntax.
func checkHCL(f artifact.File) error {
	if _, diags := hclsyntax.ParseConfig(f.Bytes, f.Path, hcl.InitialPos); diags.HasErrors() {
		return fmt.Errorf("invalid HCL: %w", diags)
	}
	return nil
}

// checkYAML parses every document of b.
func checkYAML(b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("invalid YAML: %w", err)
		}
	}
}

// checkTemplateSyntax allows "${name}" only for a name in secrets or the location of a local
// build (model.BackendURLVar, model.PghacURLVar and their checksums), and no "%{" at all:
// Terraform would try to interpolate anything else, or fail on it.
func checkTemplateSyntax(b []byte, secrets []model.Secret) error {
	if i := bytes.Index(b, []byte("%{")); i >= 0 {
		return fmt.Errorf("line %d: %q would start a Terraform template directive", lineOf(b, i), "%{")
	}
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("${"))
		if j < 0 {
			return nil
		}
		j += i
		if j > 0 && b[j-1] == '$' {
			return fmt.Errorf("line %d: %q is Terraform's escape for a literal %q", lineOf(b, j), "$${", "${")
		}
		end := bytes.IndexAny(b[j:], "}\n")
		if end < 0 || b[j+end] != '}' {
			return fmt.Errorf("line %d: unterminated %q", lineOf(b, j), "${")
		}
		name := string(b[j+2 : j+end])
		if !slices.Contains(secrets, model.Secret(name)) && !slices.Contains(model.BuildVars, name) {
			return fmt.Errorf("line %d: %q is not a secret's placeholder", lineOf(b, j), b[j:j+end+1])
		}
		i = j + end + 1
	}
}

// lineOf is the 1-based line of byte offset i.
func lineOf(b []byte, i int) int { return bytes.Count(b[:i], []byte("\n")) + 1 }
