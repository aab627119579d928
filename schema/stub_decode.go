package schema

import "github.com/hashicorp/hcl/v2"

// File is a decoded cluster.hcl. (STUB: replaced by the real schema.)
type File struct {
	Filename string
	HCL      *hcl.File
}

// Files returns the parsed source files by name, for hcl.NewDiagnosticTextWriter.
func (f *File) Files() map[string]*hcl.File {
	if f == nil || f.HCL == nil {
		return nil
	}
	return map[string]*hcl.File{f.Filename: f.HCL}
}

// Decode parses and decodes src. (STUB)
func Decode(src []byte, filename string) (*File, hcl.Diagnostics) {
	return &File{Filename: filename}, nil
}
