package view

import (
	"fmt"
	"io"
	"strings"
)

// Ansi wraps s in an SGR sequence when on.
func Ansi(on bool, code, s string) string {
	if !on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Plural is "1 file", "2 files".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// PrefixWriter writes every line with a prefix (Terraform's and the image build's progress,
// indented under pghac's own lines).
type PrefixWriter struct {
	W      io.Writer
	Prefix string
}

func (p PrefixWriter) Write(b []byte) (int, error) {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return len(b), nil
	}
	_, err := io.WriteString(p.W, p.Prefix+strings.ReplaceAll(s, "\n", "\n"+p.Prefix)+"\n")
	return len(b), err
}

// LinePrefixer writes every line with a prefix however its writes split the lines (a
// table's cells, a line written in pieces); PrefixWriter takes whole lines only.
type LinePrefixer struct {
	W      io.Writer
	Prefix string
	mid    bool // the last write ended within a line
}

func (p *LinePrefixer) Write(b []byte) (int, error) {
	var out strings.Builder
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !p.mid {
			out.WriteString(p.Prefix)
		}
		out.WriteString(line)
		p.mid = !strings.HasSuffix(line, "\n")
	}
	_, err := io.WriteString(p.W, out.String())
	return len(b), err
}

// wrapList writes items after prefix, comma-separated, wrapped at width with continuation
// lines indented like the first item.
func wrapList(prefix string, items []string, width int) string {
	var b strings.Builder
	line, n := prefix, 0 // n items on line
	for i, it := range items {
		if i < len(items)-1 {
			it += ","
		}
		if n > 0 && len(line)+1+len(it) > width {
			b.WriteString(line + "\n")
			line, n = strings.Repeat(" ", len(prefix)), 0
		}
		if n > 0 {
			line += " "
		}
		line, n = line+it, n+1
	}
	b.WriteString(line + "\n")
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
