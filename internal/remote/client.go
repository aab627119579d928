package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Endpoint is an SSH server and the user to log in as.
type Endpoint struct {
	Addr string // host:port
	User string
}

func (e Endpoint) String() string { return e.User + "@" + e.Addr }

// Options configure Dial.
type Options struct {
	Key      ssh.Signer // the operator key
	HostKeys *HostKeys
	// Jump is the jump host to go through (its own key pinned like the nodes'), nil for a
	// direct connection.
	Jump *Endpoint
	// Timeout bounds each TCP connect and SSH handshake; 10 s when zero.
	Timeout time.Duration
}

// timeout is Timeout, 10 s when zero.
func (o Options) timeout() time.Duration {
	if o.Timeout == 0 {
		return 10 * time.Second
	}
	return o.Timeout
}

// config is how to log in as user with the operator key, checking host keys against the pins.
func (o Options) config(user string) *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(o.Key)},
		HostKeyCallback: o.HostKeys.Callback,
		// ed25519 first, so that the key pinned is the one every OpenSSH server has; the
		// others for servers without it.
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256},
		Timeout:           o.timeout(),
	}
}

// Client is an SSH connection to one node.
type Client struct {
	ep     Endpoint
	client *ssh.Client
	jump   *ssh.Client // nil without a jump host
}

// Dial connects to ep as its user with the operator key, through opts.Jump when set.
func Dial(ctx context.Context, ep Endpoint, opts Options) (*Client, error) {
	if opts.Key == nil || opts.HostKeys == nil {
		return nil, errors.New("remote: Dial needs the operator key and the pinned host keys")
	}
	timeout := opts.timeout()
	c := &Client{ep: ep}
	var err error
	if opts.Jump != nil {
		if c.jump, err = dialSSH(ctx, nil, *opts.Jump, opts.config(opts.Jump.User), timeout); err != nil {
			return nil, fmt.Errorf("jump host %s: %w", opts.Jump, err)
		}
	}
	c.client, err = dialSSH(ctx, c.jump, ep, opts.config(ep.User), timeout)
	if err != nil {
		c.Close()
		if c.jump != nil {
			return nil, fmt.Errorf("%s through %s: %w", ep, opts.Jump, err)
		}
		return nil, fmt.Errorf("%s: %w", ep, err)
	}
	return c, nil
}

// dialSSH opens an SSH connection to ep, through via when not nil.
func dialSSH(ctx context.Context, via *ssh.Client, ep Endpoint, cfg *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var conn net.Conn
	var err error
	if via != nil {
		conn, err = via.DialContext(ctx, "tcp", ep.Addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", ep.Addr)
	}
	if err != nil {
		return nil, err
	}
	// The handshake has no context: a deadline on the connection bounds it.
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	sc, chans, reqs, err := ssh.NewClientConn(conn, ep.Addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

// Close closes the connection (and the jump host's).
func (c *Client) Close() error {
	var errs []error
	if c.client != nil {
		errs = append(errs, c.client.Close())
	}
	if c.jump != nil {
		errs = append(errs, c.jump.Close())
	}
	return errors.Join(errs...)
}

// ExitError is a command that ran and failed.
type ExitError struct {
	Node   string
	Cmd    string
	Status int
	Stderr string // its tail
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: %s: exit status %d", e.Node, e.Cmd, e.Status)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// Run runs the shell command cmd as root (through sudo -n when the login user is not root),
// with stdin as its input, and returns its standard output. A command that exits non-zero
// is an *ExitError with its standard error; ctx ending closes the session.
func (c *Client) Run(ctx context.Context, cmd string, stdin []byte) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	var in io.Reader
	if stdin != nil {
		in = bytes.NewReader(stdin)
	}
	if err := c.exec(ctx, cmd, in, &stdout, &stderr, &stderr); err != nil {
		var exit *ExitError
		if errors.As(err, &exit) {
			return stdout.Bytes(), err
		}
		return nil, err
	}
	return stdout.Bytes(), nil
}

// Stream runs cmd as Run does, writing its standard output and error to out as they come
// (a long command's progress), and keeping the tail of its error output for *ExitError.
func (c *Client) Stream(ctx context.Context, cmd string, out io.Writer) error {
	var stderr bytes.Buffer
	w := &lockedWriter{w: out}
	return c.exec(ctx, cmd, nil, w, io.MultiWriter(w, &stderr), &stderr)
}

// exec runs cmd as root in a session of its own with the given streams; errTail is where
// its standard error is kept for an *ExitError.
func (c *Client) exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer, errTail *bytes.Buffer) error {
	s, err := c.client.NewSession()
	if err != nil {
		return fmt.Errorf("%s: %w", c.ep, err)
	}
	defer s.Close()
	s.Stdin, s.Stdout, s.Stderr = stdin, stdout, stderr
	full := cmd
	if c.ep.User != "root" {
		full = "sudo -n sh -c " + Quote(cmd)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(full) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		s.Close()
		return fmt.Errorf("%s: %s: %w", c.ep.Addr, cmd, ctx.Err())
	}
	var exit *ssh.ExitError
	switch {
	case errors.As(err, &exit):
		return &ExitError{Node: c.ep.Addr, Cmd: cmd, Status: exit.ExitStatus(), Stderr: tail(errTail.String(), 2000)}
	case err != nil:
		return fmt.Errorf("%s: %s: %w", c.ep.Addr, cmd, err)
	}
	return nil
}

// lockedWriter serializes the writes of a session's two output streams.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// ReadFile reads the file at path as root. A missing file is an error wrapping
// fs.ErrNotExist.
func (c *Client) ReadFile(ctx context.Context, path string) ([]byte, error) {
	// Exit status 3 marks a missing file, told apart from a failing cat.
	b, err := c.Run(ctx, fmt.Sprintf("if [ -e %[1]s ]; then cat %[1]s; else exit 3; fi", Quote(path)), nil)
	if xe, ok := errors.AsType[*ExitError](err); ok && xe.Status == 3 {
		return nil, &fs.PathError{Op: "read", Path: c.ep.Addr + ":" + path, Err: fs.ErrNotExist}
	}
	return b, err
}

// WriteFile replaces the file at path with data, mode and owner ("user:group"), creating its
// directory: a temporary file beside it is renamed over it, so that a reader sees the old
// file or the new one, never half of one.
func (c *Client) WriteFile(ctx context.Context, path string, data []byte, mode os.FileMode, owner string) error {
	q := Quote(path)
	cmd := fmt.Sprintf(`set -e; mkdir -p "$(dirname %[1]s)"; t=$(mktemp %[1]s.pghac-XXXXXX); trap 'rm -f "$t"' EXIT; `+
		`cat > "$t"; chown %[2]s "$t"; chmod %[3]o "$t"; mv -f "$t" %[1]s; trap - EXIT`, q, Quote(owner), mode.Perm())
	_, err := c.Run(ctx, cmd, data)
	return err
}

// Quote quotes s for a POSIX shell in single quotes, which keep every byte but ' as it is,
// newlines included (mvdan.cc/sh's Quote refuses those for POSIX shells).
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// RemoteFile is a file as a node has it.
type RemoteFile struct {
	Exists  bool
	Mode    os.FileMode // permission bits
	Owner   string      // user:group
	Content []byte
}

// ReadFiles reads the files at paths as root in one command: content, mode and owner; a
// missing file has Exists false.
func (c *Client) ReadFiles(ctx context.Context, paths []string) (map[string]RemoteFile, error) {
	var script strings.Builder
	for _, p := range paths {
		// A header line "mode owner size" then exactly size bytes, or "-" for a missing file.
		fmt.Fprintf(&script, "if [ -f %[1]s ]; then stat -c '%%a %%U:%%G %%s' %[1]s && cat %[1]s; else echo -; fi\n", Quote(p))
	}
	out, err := c.Run(ctx, script.String(), nil)
	if err != nil {
		return nil, err
	}
	files := make(map[string]RemoteFile, len(paths))
	for _, p := range paths {
		nl := bytes.IndexByte(out, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("%s: reading %s: the output ends early", c.ep.Addr, p)
		}
		head := string(out[:nl])
		out = out[nl+1:]
		if head == "-" {
			files[p] = RemoteFile{}
			continue
		}
		var mode, size int
		var owner string
		if _, err := fmt.Sscanf(head, "%o %s %d", &mode, &owner, &size); err != nil || size > len(out) {
			return nil, fmt.Errorf("%s: reading %s: unexpected header %q", c.ep.Addr, p, head)
		}
		files[p] = RemoteFile{Exists: true, Mode: os.FileMode(mode), Owner: owner, Content: out[:size]}
		out = out[size:]
	}
	return files, nil
}
