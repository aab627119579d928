package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/pghac/pghac/internal/backend"
)

// version is set at build time (make build: -X main.version=...).
var version = "dev"

// Exit codes.
const (
	exitOK    = 0
	exitFatal = 1 // the listener, the password file, serving
	exitUsage = 2 // a bad command line
)

func main() {
	// The first SIGTERM or SIGINT starts the graceful shutdown; a second one (after stop)
	// kills the process.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run runs the command line args (without the program name) until ctx ends and returns the
// exit code. It is the only place that reads the environment.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := pflag.NewFlagSet("pghac-backend", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	listen := fs.String("listen", "0.0.0.0:8080", "serve HTTP on `ADDR`")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS (only) with the certificate and then the private key in the PEM file at `PATH`, read again on SIGHUP")
	writeDSN := fs.String("write-dsn", "postgres://notes@127.0.0.1:5000/notes?sslmode=prefer", "connection string of the primary (HAProxy's primary port), without a password")
	readDSN := fs.String("read-dsn", "postgres://notes@127.0.0.1:5001/notes?sslmode=prefer", "connection string of the replicas (HAProxy's replica port), without a password")
	passwordFile := fs.String("password-file", "", "read the database password from `PATH` (default $CREDENTIALS_DIRECTORY/db-password when that is set)")
	maxConns := fs.Int32("max-conns", backend.DefaultMaxConns, "connections per pool, at most")
	timeout := fs.Duration("request-timeout", backend.DefaultRequestTimeout, "a request's database work gets this long before it is answered with a 503")
	showVersion := fs.Bool("version", false, "print the version and exit")
	help := fs.BoolP("help", "h", false, "show this help")

	if err := fs.Parse(args); err != nil {
		return usageError(stderr, err.Error())
	}
	if *help {
		fmt.Fprintf(stdout, "Usage: pghac-backend [flags]\n\nServes the notes HTTP JSON API.\n\nFlags:\n%s", fs.FlagUsages())
		return exitOK
	}
	if *showVersion {
		fmt.Fprintln(stdout, "pghac-backend", version)
		return exitOK
	}
	if fs.NArg() > 0 {
		return usageError(stderr, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if *timeout <= 0 {
		return usageError(stderr, "--request-timeout must be positive")
	}
	if *maxConns < 1 {
		return usageError(stderr, "--max-conns must be at least 1")
	}
	for _, d := range []struct{ flag, dsn string }{{"--write-dsn", *writeDSN}, {"--read-dsn", *readDSN}} {
		if err := backend.CheckDSN(d.dsn); err != nil {
			return usageError(stderr, d.flag+" "+err.Error())
		}
	}
	cfg := backend.Config{
		WriteDSN:       *writeDSN,
		ReadDSN:        *readDSN,
		MaxConns:       *maxConns,
		RequestTimeout: *timeout,
		Version:        version,
	}
	if err := cfg.Validate(); err != nil {
		return usageError(stderr, err.Error())
	}

	path := *passwordFile
	if !fs.Changed("password-file") && getenv("CREDENTIALS_DIRECTORY") != "" {
		path = filepath.Join(getenv("CREDENTIALS_DIRECTORY"), "db-password")
	}
	if path != "" {
		pw, err := readPassword(path)
		if err != nil {
			fmt.Fprintf(stderr, "pghac-backend: %v\n", err)
			return exitFatal
		}
		cfg.Password = pw
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg.Logger = log
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "pghac-backend: cannot listen on %s: %v\n", *listen, err)
		return exitFatal
	}
	if *tlsCert != "" {
		cf, err := backend.LoadCertFile(*tlsCert)
		if err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "pghac-backend: %v\n", err)
			return exitFatal
		}
		ln = tls.NewListener(ln, cf.TLSConfig())
		go reloadOnHangup(ctx, cf, log)
	}
	start := time.Now()
	if err := backend.Serve(ctx, ln, cfg); err != nil {
		fmt.Fprintf(stderr, "pghac-backend: %v\n", err)
		return exitFatal
	}
	log.Info("exiting", "uptime", time.Since(start).Round(time.Millisecond).String())
	return exitOK
}

// reloadOnHangup reads the certificate again on every SIGHUP (systemctl reload, after a
// rotation) until ctx ends; a file that does not load leaves the one before in use.
func reloadOnHangup(ctx context.Context, cf *backend.CertFile, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := cf.Reload(); err != nil {
				log.Error("the certificate was not reloaded; serving the one before", "error", err.Error())
				continue
			}
			log.Info("reloaded the TLS certificate")
		}
	}
}

func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "pghac-backend: %s. Run pghac-backend --help for the flags.\n", strings.TrimSuffix(msg, "."))
	return exitUsage
}

// readPassword reads a password file: its content less one trailing newline.
func readPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("cannot read the password file %s: %v", path, pe.Err)
		}
		return "", fmt.Errorf("cannot read the password file %s: %v", path, err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if pw == "" {
		return "", fmt.Errorf("the password file %s is empty", path)
	}
	return pw, nil
}
