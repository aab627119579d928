package cloudapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/pghac/pghac/internal/lockbox"
)

// Metadata serves the metadata service at 169.254.169.254 as the sandbox's machines see
// it: the token of the machine's service account and its metadata attributes.
func (s *Server) Metadata() http.Handler {
	return s.logged("metadata", http.HandlerFunc(s.serveMetadata))
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	// The header comes first, as in the cloud: without it nothing is answered, whatever
	// the path, so a page that makes the VM fetch a URL cannot read a token.
	if r.Header.Get(lockbox.MetadataFlavorHeader) != lockbox.MetadataFlavor {
		http.Error(w, "Missing required header: "+lockbox.MetadataFlavorHeader+": "+lockbox.MetadataFlavor, http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	addr, ok := remoteAddr(r)
	if !ok {
		http.Error(w, "cannot tell the caller's address", http.StatusBadRequest)
		return
	}
	attrs, known, err := readMachine(s.dir, addr)
	if err != nil {
		http.Error(w, "cannot read the machine's registration", http.StatusInternalServerError)
		return
	}
	if !known {
		http.Error(w, "no sandbox machine is registered at "+addr.String(), http.StatusNotFound)
		return
	}
	switch path := r.URL.Path; {
	case path == lockbox.MetadataTokenPath:
		tok := nodeToken(s.key, addr, s.now().Add(NodeTokenTTL))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(lockbox.ServiceAccountToken{
			AccessToken: tok,
			ExpiresIn:   int(NodeTokenTTL.Seconds()),
			TokenType:   "Bearer",
		})
	case strings.HasPrefix(path, lockbox.MetadataAttributePath):
		v, ok := attrs[strings.TrimPrefix(path, lockbox.MetadataAttributePath)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, v)
	default:
		http.NotFound(w, r)
	}
}
