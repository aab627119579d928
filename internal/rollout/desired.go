package rollout

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"
)

// File is a file the generated tree puts on a node, as it must be there: rendered, with
// its mode and owner.
type File struct {
	Path    string
	Content []byte
	Mode    os.FileMode
	Owner   string // user:group
}

// RenderTemplate renders a user-data template as Terraform's templatefile() does, with vars
// as its variables: a reference to a variable that vars lacks is an error, and $${ is a
// literal ${. It is the same HCL template language, so the result is what a machine gets.
func RenderTemplate(src []byte, name string, vars map[string]string) ([]byte, error) {
	expr, diags := hclsyntax.ParseTemplate(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	values := make(map[string]cty.Value, len(vars))
	for k, v := range vars {
		values[k] = cty.StringVal(v)
	}
	for _, tr := range expr.Variables() {
		if _, ok := values[tr.RootName()]; !ok {
			return nil, fmt.Errorf("%s: the template needs variable %q, which is not given", tr.SourceRange(), tr.RootName())
		}
	}
	v, diags := expr.Value(&hcl.EvalContext{Variables: values})
	if diags.HasErrors() {
		return nil, diags
	}
	if v.Type() != cty.String || v.IsNull() {
		return nil, fmt.Errorf("%s: the template does not render to a string", name)
	}
	return []byte(v.AsString()), nil
}

// writeFile is one entry of cloud-config's write_files, as pghac emits them.
type writeFile struct {
	Path        string `yaml:"path"`
	Owner       string `yaml:"owner"`
	Permissions string `yaml:"permissions"`
	Defer       bool   `yaml:"defer"`
	Content     string `yaml:"content"`
	Encoding    string `yaml:"encoding"`
}

// ManagedFiles are the files of a rendered user-data that configure the node's services: its
// deferred write_files, written once the packages are installed. The others only steer the
// installation (a policy-rc.d removed again, packaging defaults) and are not kept in step.
func ManagedFiles(userData []byte) ([]File, error) {
	var cfg struct {
		WriteFiles []writeFile `yaml:"write_files"`
	}
	if err := yaml.Unmarshal(userData, &cfg); err != nil {
		return nil, fmt.Errorf("user-data: %w", err)
	}
	var files []File
	for _, wf := range cfg.WriteFiles {
		if !wf.Defer {
			continue
		}
		if wf.Encoding != "" {
			return nil, fmt.Errorf("user-data: %s: encoding %q: pghac emits plain content only", wf.Path, wf.Encoding)
		}
		mode, err := strconv.ParseUint(wf.Permissions, 8, 32)
		if err != nil {
			return nil, fmt.Errorf("user-data: %s: permissions %q: %w", wf.Path, wf.Permissions, err)
		}
		owner := wf.Owner
		if owner == "" {
			owner = "root:root" // cloud-init's default
		}
		files = append(files, File{Path: wf.Path, Content: []byte(wf.Content), Mode: os.FileMode(mode), Owner: owner})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// placeholderRE is a secret's placeholder, as the node's secrets.py matches it.
var placeholderRE = regexp.MustCompile(`\$\{([a-z][a-z0-9_]*)\}`)

// FillSecrets replaces, in each file's content, every placeholder of a secret that secrets
// has with its value, as the node fills them from Lockbox at its first boot: after cloud-init
// parsed the user-data, so a value of several lines (a certificate) is written as it is.
// Other placeholders (builds not known yet) are left as they are.
func FillSecrets(files []File, secrets map[string]string) {
	for i, f := range files {
		files[i].Content = placeholderRE.ReplaceAllFunc(f.Content, func(m []byte) []byte {
			if v, ok := secrets[string(m[2:len(m)-1])]; ok {
				return []byte(v)
			}
			return m
		})
	}
}

// Redact replaces every value of secrets found in s with its placeholder ${name}, so that a
// diff of rendered files shows where a secret is and never what it is.
func Redact(s string, secrets map[string]string) string {
	var pairs []string
	names := make([]string, 0, len(secrets))
	for name := range secrets {
		names = append(names, name)
	}
	// Longer values first: a secret that contains another is replaced whole.
	sort.Slice(names, func(i, j int) bool { return len(secrets[names[i]]) > len(secrets[names[j]]) })
	for _, name := range names {
		if v := secrets[name]; v != "" {
			pairs = append(pairs, v, "${"+name+"}")
		}
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// privateKeyRE is a PEM private key block of any kind.
var privateKeyRE = regexp.MustCompile(`(?s)-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?-----END ([A-Z0-9 ]*)PRIVATE KEY-----`)

// wholeSecretRE is a file whose content is one secret's placeholder and nothing else.
var wholeSecretRE = regexp.MustCompile(`\A` + placeholderRE.String() + `\n?\z`)

// diffTexts are a file's content on a node and as wanted, as a diff may show them: secrets
// redacted. Redact knows only the current values, so what a node has from an earlier value
// must be hidden too: a file that is one secret and nothing else (a certificate and its key,
// re-issued) shows its old content as an earlier value of that secret, and no private key
// is ever shown, whatever file it is in.
func diffTexts(have, want []byte, secrets map[string]string) (old, new string) {
	old, new = hideKeys(Redact(string(have), secrets)), hideKeys(Redact(string(want), secrets))
	if m := wholeSecretRE.FindStringSubmatch(new); m != nil && old != new {
		old = "(an earlier ${" + m[1] + "})"
		if strings.HasSuffix(new, "\n") {
			old += "\n"
		}
	}
	return old, new
}

// hideKeys replaces every PEM private key in s with a note that one is there.
func hideKeys(s string) string {
	return privateKeyRE.ReplaceAllString(s, "(a private key, not shown)")
}
