package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path"
	"syscall"
	"time"

	"github.com/pghac/pghac/internal/cloudapi"
)

// artifactPort is the port on the bridge address where the host serves files the machines
// download (the backend binary), next to the apt proxy's.
const artifactPort = 3143

// Artifact is a file the host serves to the machines over HTTP, as a cloud's object storage
// would, so that their user-data downloads and verifies it exactly as in the cloud.
type Artifact struct {
	// URL is where the machines download it.
	URL string
	// SHA256 is its checksum, hex.
	SHA256 string

	file string
	addr netip.AddrPort
	path string // the URL's path
	api  *cloudapi.Server
}

// NewArtifact describes the file at file, served as name on cfg's bridge address to the
// sandbox's machines as a private object: only with the token of a machine's service account
// (the sandbox's cloud API mints them). It reads the file once for its checksum.
func NewArtifact(cfg Config, file, name string) (*Artifact, error) {
	api, err := cloudapi.New(cfg.cloudAPIDir())
	if err != nil {
		return nil, err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	addr := netip.AddrPortFrom(cfg.HostAddr(), artifactPort)
	p := path.Clean("/" + name)
	return &Artifact{
		URL:    "http://" + addr.String() + p,
		path:   p,
		SHA256: hex.EncodeToString(h.Sum(nil)),
		file:   file,
		addr:   addr,
		api:    api,
	}, nil
}

// Serve serves the artifact until ctx ends. The bridge address may not exist yet (Terraform
// brings the network up), so it keeps trying to listen until it can; the machines' downloads
// retry meanwhile. It returns when ctx ends, or early with the error of a listener that failed
// for another reason than a missing address.
func (a *Artifact) Serve(ctx context.Context) error {
	var l net.Listener
	for {
		var err error
		l, err = net.Listen("tcp", a.addr.String())
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EADDRNOTAVAIL) {
			return fmt.Errorf("serving %s: %w", a.URL, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+a.path, a.api.StorageAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, a.file)
	})))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
