package load

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
)

// Request is one ammo request. Header holds the request's headers in canonical form
// without Host and Content-Length (Host is the target's, Content-Length follows Body).
type Request struct {
	Tag    string      `json:"tag,omitempty"`
	Method string      `json:"method"`
	Path   string      `json:"path"` // the request target as written: path and query
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
}

// ammoError is an ammo problem at a place in a file.
func ammoError(name string, line, offset int, format string, args ...any) error {
	return fmt.Errorf("%s:%d (byte %d): %s", name, line, offset, fmt.Sprintf(format, args...))
}

// ammoHeader is a phantom chunk header: "<size>[ <tag>]".
var ammoHeader = regexp.MustCompile(`^(\d+)(?:[ \t]+(\S+).*)?$`)

// ReadPhantomAmmo reads phantom (request-style) ammo, Tank's default format: chunks of a
// header line "<size> [tag]" followed by exactly size bytes, the whole raw HTTP request
// (request line, headers, empty line, body); blank lines between chunks are skipped and a
// chunk of size 0 ends the ammo (Tank loops there). name is used in errors.
//
// Files whose requests have bare LF line ends but whose sizes count CRLF ones (ammo made
// with CRLF and converted afterwards, like the seed's) are read too: when size bytes do not
// end where a chunk header or the end of the file starts, each bare LF is counted as two
// bytes, and that reading is taken when it does end there.
func ReadPhantomAmmo(name string, data []byte) ([]Request, error) {
	var reqs []Request
	pos, line := 0, 1
	for {
		pos, line = skipBlankLines(data, pos, line)
		if pos >= len(data) {
			break
		}
		hdrEnd := lineEnd(data, pos)
		hdr := strings.TrimRight(string(data[pos:hdrEnd]), "\r\n")
		m := ammoHeader.FindStringSubmatch(strings.TrimSpace(hdr))
		if m == nil {
			return nil, ammoError(name, line, pos, "chunk header %q: want \"<size> [tag]\", the request's size in bytes and an optional tag", clip(hdr))
		}
		size, err := strconv.Atoi(m[1])
		if err != nil {
			return nil, ammoError(name, line, pos, "request size %s is not a number of bytes", m[1])
		}
		if size == 0 {
			break // Tank's "start over" marker
		}
		start := hdrEnd
		hdrLine := line
		line++
		end := start + size
		if end > len(data) || !chunkBoundary(data, end) {
			// Maybe the file lost its CRs after the sizes were computed.
			if e, ok := lfAsCRLF(data, start, size); ok && chunkBoundary(data, e) {
				end = e
			} else if end > len(data) {
				return nil, ammoError(name, hdrLine, pos, "request of %d bytes is larger than the rest of the file (%d bytes)", size, len(data)-start)
			} else {
				return nil, ammoError(name, hdrLine, pos, "request of %d bytes does not end where the next chunk header (\"<size> [tag]\") or the end of the file starts; is the size right?", size)
			}
		}
		raw := data[start:end]
		r, err := parseRawRequest(raw)
		if err != nil {
			return nil, ammoError(name, hdrLine, pos, "request %q: %v", clip(firstLine(raw)), err)
		}
		r.Tag = m[2]
		reqs = append(reqs, r)
		line += bytes.Count(raw, []byte{'\n'})
		pos = end
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("%s: no requests in the ammo", name)
	}
	return reqs, nil
}

// skipBlankLines skips lines that are empty but for CR/LF.
func skipBlankLines(data []byte, pos, line int) (int, int) {
	for pos < len(data) {
		e := lineEnd(data, pos)
		if len(bytes.Trim(data[pos:e], "\r\n")) != 0 {
			break
		}
		pos, line = e, line+1
	}
	return pos, line
}

// lineEnd is the index after the LF ending the line at pos (or len(data)).
func lineEnd(data []byte, pos int) int {
	if i := bytes.IndexByte(data[pos:], '\n'); i >= 0 {
		return pos + i + 1
	}
	return len(data)
}

// chunkBoundary reports whether a chunk header or the end of the file follows pos, after
// blank lines.
func chunkBoundary(data []byte, pos int) bool {
	pos, _ = skipBlankLines(data, pos, 0)
	if pos >= len(data) {
		return true
	}
	return ammoHeader.MatchString(strings.TrimSpace(string(data[pos:lineEnd(data, pos)])))
}

// lfAsCRLF is where a request of size bytes starting at start ends when every bare LF in
// it counts two bytes. ok is false when no byte boundary gives exactly size.
func lfAsCRLF(data []byte, start, size int) (end int, ok bool) {
	n := 0
	for i := start; i < len(data); i++ {
		if n == size {
			return i, true
		}
		n++
		if data[i] == '\n' && (i == start || data[i-1] != '\r') {
			n++
		}
		if n > size {
			return 0, false
		}
	}
	return len(data), n == size
}

// parseRawRequest parses a raw HTTP/1.x request. The body is Content-Length bytes (or the
// chunked body); what follows it may only be line ends.
func parseRawRequest(raw []byte) (Request, error) {
	br := bufio.NewReader(bytes.NewReader(raw))
	hr, err := http.ReadRequest(br)
	if err != nil {
		return Request{}, fmt.Errorf("not an HTTP request: %v", err)
	}
	body, err := io.ReadAll(hr.Body)
	if err != nil {
		return Request{}, fmt.Errorf("body: %v (Content-Length %s)", err, hr.Header.Get("Content-Length"))
	}
	rest, _ := io.ReadAll(br)
	if extra := bytes.Trim(rest, "\r\n"); len(extra) > 0 {
		if hr.Header.Get("Content-Length") == "" && len(hr.TransferEncoding) == 0 {
			return Request{}, fmt.Errorf("%d bytes of body but no Content-Length header", len(extra))
		}
		return Request{}, fmt.Errorf("%d bytes after the body of %d bytes that Content-Length announces", len(extra), len(body))
	}
	path := hr.RequestURI
	if hr.URL.IsAbs() { // absolute-form: keep the path and query only
		path = hr.URL.RequestURI()
	}
	h := hr.Header.Clone()
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	if len(body) == 0 {
		body = nil
	}
	return Request{Method: hr.Method, Path: path, Header: h, Body: body}, nil
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return strings.TrimRight(string(b), "\r")
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// parseHeaderLine parses "Name: value", with Tank's surrounding [ ] allowed.
func parseHeaderLine(s string) (name, value string, err error) {
	s = strings.Trim(strings.TrimSpace(s), "[]\t ")
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return "", "", fmt.Errorf("header %q: want \"[Name: value]\"", s)
	}
	return textproto.CanonicalMIMEHeaderKey(name), strings.TrimSpace(value), nil
}

// ReadURIAmmo reads uri-style ammo: lines "<uri> [tag]" sent as GET, and lines
// "[Name: value]" that set a header for the lines after them. defaults are the headers
// of the phantom.headers option; the file's headers override them by name.
func ReadURIAmmo(name string, data []byte, defaults http.Header) ([]Request, error) {
	hdr := cleanHeaders(defaults)
	var reqs []Request
	pos := 0
	for i, ln := range strings.SplitAfter(string(data), "\n") {
		line := strings.TrimRight(ln, "\r\n")
		at := pos
		pos += len(ln)
		switch {
		case strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "["):
			k, v, err := parseHeaderLine(line)
			if err != nil {
				return nil, ammoError(name, i+1, at, "%v", err)
			}
			hdr.Set(k, v)
		default:
			f := strings.Fields(line)
			if !strings.HasPrefix(f[0], "/") {
				return nil, ammoError(name, i+1, at, "uri %q: want a path starting with /, like /notes/?take=10", clip(f[0]))
			}
			r := Request{Method: http.MethodGet, Path: f[0], Header: cleanHeaders(hdr)}
			if len(f) > 1 {
				r.Tag = f[1]
			}
			reqs = append(reqs, r)
		}
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("%s: no requests in the ammo", name)
	}
	return reqs, nil
}

// ReadURIPostAmmo reads uripost ammo: "[Name: value]" header lines as in uri ammo, and
// chunks of a line "<body size> <uri> [tag]" followed by exactly body-size bytes of body,
// sent as POST.
func ReadURIPostAmmo(name string, data []byte, defaults http.Header) ([]Request, error) {
	hdr := cleanHeaders(defaults)
	var reqs []Request
	pos, line := 0, 1
	for pos < len(data) {
		e := lineEnd(data, pos)
		text := strings.TrimRight(string(data[pos:e]), "\r\n")
		switch {
		case strings.TrimSpace(text) == "":
		case strings.HasPrefix(text, "["):
			k, v, err := parseHeaderLine(text)
			if err != nil {
				return nil, ammoError(name, line, pos, "%v", err)
			}
			hdr.Set(k, v)
		default:
			f := strings.Fields(text)
			size, err := strconv.Atoi(f[0])
			if err != nil || size < 0 || len(f) < 2 {
				return nil, ammoError(name, line, pos, "chunk header %q: want \"<body size> <uri> [tag]\"", clip(text))
			}
			if !strings.HasPrefix(f[1], "/") {
				return nil, ammoError(name, line, pos, "uri %q: want a path starting with /", clip(f[1]))
			}
			if e+size > len(data) {
				return nil, ammoError(name, line, pos, "body of %d bytes is larger than the rest of the file (%d bytes)", size, len(data)-e)
			}
			r := Request{Method: http.MethodPost, Path: f[1], Header: cleanHeaders(hdr)}
			if size > 0 {
				r.Body = bytes.Clone(data[e : e+size])
			}
			if len(f) > 2 {
				r.Tag = f[2]
			}
			reqs = append(reqs, r)
			line += bytes.Count(data[e:e+size], []byte{'\n'})
			e += size
		}
		pos = e
		line++
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("%s: no requests in the ammo", name)
	}
	return reqs, nil
}

// ReadAccessAmmo reads an access log (combined log format): the GET requests between the
// first pair of double quotes on each line; other methods and unparsable lines are skipped,
// as Tank does. It returns how many lines were skipped.
func ReadAccessAmmo(name string, data []byte, defaults http.Header) ([]Request, int, error) {
	var reqs []Request
	skipped := 0
	for _, ln := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		parts := strings.Split(ln, `"`)
		var f []string
		if len(parts) > 1 {
			f = strings.Fields(parts[1])
		}
		if len(f) != 3 || f[0] != http.MethodGet || !strings.HasPrefix(f[1], "/") {
			skipped++
			continue
		}
		reqs = append(reqs, Request{Method: http.MethodGet, Path: f[1], Header: cleanHeaders(defaults)})
	}
	if len(reqs) == 0 {
		return nil, skipped, fmt.Errorf("%s: no GET requests in the access log", name)
	}
	return reqs, skipped, nil
}

// cleanHeaders copies h without Host and Content-Length.
func cleanHeaders(h http.Header) http.Header {
	c := h.Clone()
	if c == nil {
		c = http.Header{}
	}
	c.Del("Host")
	c.Del("Content-Length")
	return c
}
