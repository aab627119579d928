package load

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is what pghac runs from a Tank load.yaml: its phantom and autostop sections with
// Tank's defaults applied. Other sections (core, console, telegraf, uploader, ...) are
// Tank's plumbing and are ignored.
type Config struct {
	File string // the load.yaml, as named in errors
	Dir  string // the directory a relative ammofile is read from

	Address        string        // host:port dialled (phantom.address, phantom.port; default port 80)
	Host           string        // the Host header every request carries: the address as written
	SSL            bool          // https (certificates are not verified, as phantom does not)
	Instances      int           // most requests in flight at once (default 1000)
	Timeout        time.Duration // per request (default 11s)
	ConnectionTest bool          // check that the address accepts connections before the test (default true)

	Schedule Schedule // load_profile.schedule (load_type rps)

	AmmoFile    string      // the ammo file, resolved against Dir; "" when URIs are given
	AmmoType    string      // phantom, uri, uripost or access, as configured (default phantom)
	URIs        []string    // inline uri ammo (phantom.uris)
	Headers     http.Header // phantom.headers: the headers of uri, uripost, access and inline ammo
	HeaderHTTP  string      // phantom.header_http (pghac always speaks HTTP/1.1)
	Loop        int         // passes over the ammo; 0 for no limit (phantom.loop -1)
	AmmoLimit   int         // most requests in the test; 0 for no limit (phantom.ammo_limit -1)
	ChosenCases []string    // only ammo with these tags (phantom.chosen_cases)

	Autostop []Criterion // the autostop section's criteria, when it is enabled

	// Warnings are options that pghac reads but does not honour the way Tank does, one
	// sentence each.
	Warnings []string

	host, port string // of phantom.address
	portOption string // phantom.port
}

// LoadConfig reads and parses the load.yaml at path; a relative ammofile is read from
// path's directory.
func LoadConfig(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, src, filepath.Dir(path))
}

// portOption is phantom.port's form in Tank's schema.
var portOption = regexp.MustCompile(`^\d{0,5}$`)

// yamlLine pulls the line out of yaml.v3's syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// ParseConfig parses a Tank load.yaml read from file name. dir is where a relative ammofile
// is. Every problem found is reported, one line each, as "<name>:<line>: <what is wrong>",
// at the line of the offending key.
func ParseConfig(name string, src []byte, dir string) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", name, m[1], msg[len(m[0]):])
		}
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(msg, "yaml: "))
	}
	p := &parser{name: name}
	c := &Config{File: name, Dir: dir, Instances: 1000, Timeout: 11 * time.Second, ConnectionTest: true,
		AmmoType: "phantom", HeaderHTTP: "1.0", Headers: http.Header{}}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: want a mapping of sections (phantom:, autostop:, ...)", name)
	}
	var phantom *yaml.Node
	phantomLine := 0
	p.mapping(doc.Content[0], func(key string, k, v *yaml.Node) {
		switch key {
		case "phantom":
			phantom, phantomLine = v, k.Line
		case "autostop":
			p.autostop(c, v)
		case "pandora", "bfg", "jmeter", "gatling":
			if p.enabled(v) {
				p.errorf(k, "the %s generator is not supported: pghac runs phantom tests only; disable it (enabled: false)", key)
			}
		}
	})
	switch {
	case phantom == nil && len(p.errs) == 0:
		p.errs = append(p.errs, fmt.Errorf("%s: no phantom section: pghac runs Tank's phantom tests (phantom: address, load_profile, ammo)", name))
	case phantom != nil && !p.enabled(phantom):
		p.errs = append(p.errs, fmt.Errorf("%s:%d: the phantom section is disabled (enabled: false): pghac runs phantom tests only", name, phantomLine))
	case phantom != nil:
		p.phantom(c, phantom, phantomLine)
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

type parser struct {
	name string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.name, n.Line, fmt.Sprintf(format, args...)))
}

// mapping calls f for each key of mapping node n, reporting duplicates and non-string keys.
func (p *parser) mapping(n *yaml.Node, f func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "want a mapping")
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "want a name as key")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, "%s is set twice (first at line %d)", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		f(k.Value, k, v)
	}
}

// enabled is a plugin section's enabled flag; a section without one counts as enabled (Tank
// enables phantom implicitly, and pghac reads the others only to refuse them).
func (p *parser) enabled(sec *yaml.Node) bool {
	if sec.Kind != yaml.MappingNode {
		return true
	}
	for i := 0; i+1 < len(sec.Content); i += 2 {
		if sec.Content[i].Value == "enabled" {
			var b bool
			if err := sec.Content[i+1].Decode(&b); err == nil {
				return b
			}
		}
	}
	return true
}

func (p *parser) str(k, v *yaml.Node) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.errorf(k, "%s: want a string", k.Value)
		return "", false
	}
	return v.Value, true
}

func (p *parser) integer(k, v *yaml.Node) (int, bool) {
	var i int
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Decode(&i) != nil {
		p.errorf(k, "%s: %q is not a whole number", k.Value, v.Value)
		return 0, false
	}
	return i, true
}

func (p *parser) boolean(k, v *yaml.Node) (bool, bool) {
	var b bool
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Decode(&b) != nil {
		p.errorf(k, "%s: %q is not true or false", k.Value, v.Value)
		return false, false
	}
	return b, true
}

func (p *parser) strings(k, v *yaml.Node) ([]string, bool) {
	if v.Kind != yaml.SequenceNode {
		p.errorf(k, "%s: want a list of strings", k.Value)
		return nil, false
	}
	var out []string
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode {
			p.errorf(e, "%s: want a list of strings", k.Value)
			return nil, false
		}
		out = append(out, e.Value)
	}
	return out, true
}

// phantomIgnored are phantom options of phantom the binary (tuning, logging, caching) that
// mean nothing to pghac's generator.
var phantomIgnored = map[string]bool{
	"enabled": true, "package": true, "writelog": true, "threads": true, "affinity": true,
	"phantom_http_line": true, "phantom_http_field_num": true, "phantom_http_field": true,
	"phantom_http_entity": true, "use_caching": true, "cache_dir": true, "force_stepping": true,
	"file_cache": true, "buffered_seconds": true, "config": true, "method_prefix": true,
	"method_options": true, "source_log_prefix": true, "phantom_path": true,
	"phantom_modules_path": true, "additional_libs": true, "phout_file": true,
}

// phantomWarned are phantom options pghac accepts but does not honour.
var phantomWarned = map[string]string{
	"autocases":            "pghac does not tag requests automatically; autocases is ignored",
	"enum_ammo":            "pghac does not enumerate ammo; enum_ammo is ignored",
	"gatling_ip":           "pghac sends from the host's default source address; gatling_ip is ignored",
	"client_certificate":   "pghac does not do TLS client authentication; client_certificate is ignored",
	"client_key":           "pghac does not do TLS client authentication; client_key is ignored",
	"client_cipher_suites": "pghac uses Go's TLS cipher suites; client_cipher_suites is ignored",
}

func (p *parser) phantom(c *Config, n *yaml.Node, line int) {
	var schedKey, schedVal, ammoKey, urisKey *yaml.Node
	address := ""
	var addrKey *yaml.Node
	p.mapping(n, func(key string, k, v *yaml.Node) {
		switch key {
		case "address":
			if s, ok := p.str(k, v); ok {
				address, addrKey = s, k
			}
		case "port":
			if v.Kind == yaml.ScalarNode && portOption.MatchString(v.Value) {
				c.portOption = v.Value
			} else {
				p.errorf(k, "port: %q is not a port number", v.Value)
			}
		case "ssl":
			c.SSL, _ = p.boolean(k, v)
		case "instances":
			if i, ok := p.integer(k, v); ok {
				if i < 1 {
					p.errorf(k, "instances: %d: want at least 1", i)
				}
				c.Instances = i
			}
		case "timeout":
			if s, ok := p.str(k, v); ok {
				d, err := parseTankTime(s, time.Millisecond)
				switch {
				case err != nil:
					p.errorf(k, "timeout: %v", err)
				case d <= 0:
					p.errorf(k, "timeout: want more than 0")
				default:
					c.Timeout = d
				}
			}
		case "connection_test":
			c.ConnectionTest, _ = p.boolean(k, v)
		case "ammofile":
			if s, ok := p.str(k, v); ok && s != "" {
				ammoKey = k
				switch {
				case strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
					p.errorf(k, "ammofile: pghac reads ammo from a file, not from a URL; download %s and name the file", s)
				case filepath.IsAbs(s):
					c.AmmoFile = s
				default:
					c.AmmoFile = filepath.Join(c.Dir, s)
				}
			}
		case "ammo_type":
			if s, ok := p.str(k, v); ok {
				switch s {
				case "phantom", "uri", "uripost", "access":
					c.AmmoType = s
				case "slowlog", "line", "caseline":
					p.errorf(k, "ammo_type %s is not supported: it is not HTTP ammo; want phantom, uri, uripost or access", s)
				default:
					p.errorf(k, "ammo_type %q: want phantom, uri, uripost or access", s)
				}
			}
		case "uris":
			if l, ok := p.strings(k, v); ok && len(l) > 0 {
				c.URIs, urisKey = l, k
				for i, u := range l {
					if !strings.HasPrefix(strings.TrimSpace(u), "/") {
						p.errorf(v.Content[i], "uris: %q: want a path starting with /", u)
					}
				}
			}
		case "headers":
			if l, ok := p.strings(k, v); ok {
				for i, h := range l {
					name, value, err := parseHeaderLine(h)
					if err != nil {
						p.errorf(v.Content[i], "headers: %v", err)
						continue
					}
					c.Headers.Set(name, value)
				}
			}
		case "header_http":
			if s, ok := p.str(k, v); ok {
				switch s {
				case "1.0", "1.1":
					c.HeaderHTTP = s
				default:
					p.errorf(k, "header_http %q: want \"1.0\" or \"1.1\" (quoted)", s)
				}
			}
		case "loop":
			if i, ok := p.integer(k, v); ok {
				c.Loop = max(i, 0)
			}
		case "ammo_limit":
			if i, ok := p.integer(k, v); ok {
				c.AmmoLimit = max(i, 0)
			}
		case "chosen_cases":
			if s, ok := p.str(k, v); ok {
				c.ChosenCases = strings.Fields(s)
			}
		case "tank_type":
			if s, ok := p.str(k, v); ok && s != "http" {
				p.errorf(k, "tank_type %q is not supported: pghac sends HTTP only", s)
			}
		case "multi":
			if v.Kind != yaml.SequenceNode || len(v.Content) > 0 {
				p.errorf(k, "multi is not supported: run each benchmark as its own test")
			}
		case "load_profile":
			schedKey, schedVal = k, v
		default:
			if why, ok := phantomWarned[key]; ok {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s:%d: %s.", p.name, k.Line, why))
			} else if !phantomIgnored[key] {
				p.errorf(k, "unknown phantom option %q", key)
			}
		}
	})
	if addrKey == nil {
		p.errs = append(p.errs, fmt.Errorf("%s:%d: phantom: address is required (host:port of the target)", p.name, line))
	} else if err := c.setAddress(address); err != nil {
		p.errorf(addrKey, "address: %v", err)
	}
	if c.HeaderHTTP == "1.0" && (urisKey != nil || c.AmmoType != "phantom") {
		c.Warnings = append(c.Warnings, fmt.Sprintf(`%s: header_http is "1.0" (Tank's default); pghac sends HTTP/1.1.`, p.name))
	}
	switch {
	case urisKey != nil && ammoKey != nil:
		p.errorf(urisKey, "exactly one of uris and ammofile may be set (Tank's rule); ammofile is set at line %d", ammoKey.Line)
	case urisKey == nil && ammoKey == nil:
		p.errs = append(p.errs, fmt.Errorf("%s:%d: phantom: exactly one of uris and ammofile must be set (Tank's rule); neither is", p.name, line))
	}
	if schedKey == nil {
		p.errs = append(p.errs, fmt.Errorf("%s:%d: phantom: load_profile is required (load_type: rps, schedule: ...)", p.name, line))
		return
	}
	loadType := ""
	var typeKey *yaml.Node
	p.mapping(schedVal, func(key string, k, v *yaml.Node) {
		switch key {
		case "load_type":
			loadType, _ = p.str(k, v)
			typeKey = k
		case "schedule":
			s, ok := p.str(k, v)
			if !ok {
				return
			}
			sched, err := ParseSchedule(s)
			if err != nil {
				p.errorf(k, "%v%s", err, flowHint(schedVal, s))
				return
			}
			if sched.Hits() == 0 {
				p.errorf(k, "schedule %q sends no requests", sched)
				return
			}
			c.Schedule = sched
		default:
			p.errorf(k, "unknown load_profile option %q: want load_type and schedule", key)
		}
	})
	switch {
	case typeKey == nil:
		p.errorf(schedKey, "load_profile: load_type is required (rps)")
	case loadType == "instances", loadType == "stpd_file":
		p.errorf(typeKey, "load_type %s is not supported: pghac runs an open model, requests per second over time; use load_type: rps", loadType)
	case loadType != "rps":
		p.errorf(typeKey, "load_type %q: want rps", loadType)
	}
	if c.Schedule.Hits() == 0 && !hasKey(schedVal, "schedule") {
		p.errorf(schedKey, "load_profile: schedule is required, like line(1, 100, 2m) const(100, 5m)")
	}
}

// flowHint explains a value cut at a comma by YAML: in a flow collection ({...} or [...])
// commas separate entries, so `{schedule: line(1, 10, 1m)}` is "line(1" and two more keys.
func flowHint(parent *yaml.Node, value string) string {
	if parent.Style&yaml.FlowStyle == 0 || strings.Count(value, "(") <= strings.Count(value, ")") {
		return ""
	}
	return " (in {...} and [...] YAML splits values at commas: quote it, or write the collection one entry a line)"
}

func hasKey(n *yaml.Node, key string) bool {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (p *parser) autostop(c *Config, n *yaml.Node) {
	if !p.enabled(n) {
		return
	}
	p.mapping(n, func(key string, k, v *yaml.Node) {
		switch key {
		case "enabled", "package", "report_file":
		case "autostop":
			l, ok := p.strings(k, v)
			if !ok {
				return
			}
			for i, s := range l {
				cr, err := ParseCriterion(s)
				if err != nil {
					p.errorf(v.Content[i], "%v%s", err, flowHint(v, s))
					continue
				}
				cr.Line = v.Content[i].Line
				c.Autostop = append(c.Autostop, cr)
			}
		default:
			p.errorf(k, "unknown autostop option %q", key)
		}
	})
}

// SetAddress replaces phantom.address, as --address does: the dialled address and the Host
// header both become addr. Without a port in addr, phantom.port or 80 is used.
func (c *Config) SetAddress(addr string) error {
	return c.setAddress(addr)
}

func (c *Config) setAddress(addr string) error {
	host, port, err := splitAddress(addr)
	if err != nil {
		return err
	}
	explicit := port != ""
	if c.portOption != "" {
		port, explicit = c.portOption, true
	}
	if !explicit {
		port = "80"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want 1 to 65535", port)
	}
	c.host, c.port = host, port
	c.Address = net.JoinHostPort(host, port)
	c.Host = c.Address
	if !explicit {
		c.Host = host
		if strings.Contains(host, ":") {
			c.Host = "[" + host + "]"
		}
	}
	return nil
}

// splitAddress splits Tank's address forms: host, host:port, [ipv6], [ipv6]:port and a
// bare IPv6 address (no port).
func splitAddress(a string) (host, port string, err error) {
	a = strings.TrimSpace(a)
	switch {
	case a == "":
		return "", "", fmt.Errorf("empty: want host:port")
	case strings.HasPrefix(a, "["):
		end := strings.Index(a, "]")
		if end < 0 {
			return "", "", fmt.Errorf("%q: no closing ]", a)
		}
		host, rest := a[1:end], a[end+1:]
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return "", "", fmt.Errorf("%q: want [ipv6]:port", a)
			}
			port = rest[1:]
		}
		if net.ParseIP(host) == nil {
			return "", "", fmt.Errorf("%q: %q is not an IPv6 address", a, host)
		}
		return host, port, nil
	case strings.Count(a, ":") > 1:
		if net.ParseIP(a) == nil {
			return "", "", fmt.Errorf("%q is not an address: want host:port or [ipv6]:port", a)
		}
		return a, "", nil
	}
	host, port, _ = strings.Cut(a, ":")
	if host == "" || strings.ContainsAny(host, "/ ") {
		return "", "", fmt.Errorf("%q is not an address: want host:port", a)
	}
	if strings.Contains(a, ":") && port == "" {
		return "", "", fmt.Errorf("%q: empty port", a)
	}
	return host, port, nil
}

// URL is the base URL of the target: scheme and address.
func (c *Config) URL() string {
	if c.SSL {
		return "https://" + c.Address
	}
	return "http://" + c.Address
}

// Limit is the earliest limit criterion's duration, 0 when there is none.
func (c *Config) Limit() time.Duration {
	var d time.Duration
	for _, cr := range c.Autostop {
		if l := cr.Limit(); l > 0 && (d == 0 || l < d) {
			d = l
		}
	}
	return d
}

// ReadAmmo reads the ammo (the ammofile, or the inline uris) and keeps the chosen cases.
// A phantom ammo file that does not start with a digit is read as uri ammo, as Tank does;
// a gzipped file is unpacked. Notes about how it was read are added to Warnings.
func (c *Config) ReadAmmo() ([]Request, error) {
	var reqs []Request
	if len(c.URIs) > 0 {
		for _, u := range c.URIs {
			reqs = append(reqs, Request{Method: http.MethodGet, Path: strings.TrimSpace(u), Header: cleanHeaders(c.Headers)})
		}
	} else {
		data, err := os.ReadFile(c.AmmoFile)
		if err != nil {
			return nil, fmt.Errorf("ammo: %w", err)
		}
		if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err == nil {
				data, err = io.ReadAll(zr)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: gzipped ammo: %v", c.AmmoFile, err)
			}
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, fmt.Errorf("%s: the ammo file is empty", c.AmmoFile)
		}
		typ := c.AmmoType
		if typ == "phantom" && (data[0] < '0' || data[0] > '9') {
			typ = "uri"
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s does not start with a digit, so it is read as uri ammo (Tank's rule for ammo_type phantom).", c.AmmoFile))
		}
		switch typ {
		case "phantom":
			reqs, err = ReadPhantomAmmo(c.AmmoFile, data)
		case "uri":
			reqs, err = ReadURIAmmo(c.AmmoFile, data, c.Headers)
		case "uripost":
			reqs, err = ReadURIPostAmmo(c.AmmoFile, data, c.Headers)
		case "access":
			var skipped int
			reqs, skipped, err = ReadAccessAmmo(c.AmmoFile, data, c.Headers)
			if skipped > 0 {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: %d lines skipped (not GET, or not in combined log format).", c.AmmoFile, skipped))
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if len(c.ChosenCases) > 0 {
		keep := reqs[:0]
		for _, r := range reqs {
			for _, t := range c.ChosenCases {
				if r.Tag == t {
					keep = append(keep, r)
					break
				}
			}
		}
		if len(keep) == 0 {
			return nil, fmt.Errorf("%s: no ammo has a tag of chosen_cases (%s)", c.File, strings.Join(c.ChosenCases, " "))
		}
		reqs = keep
	}
	return reqs, nil
}
