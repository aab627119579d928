package cloudapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// NodeTokenTTL is how long a node token is valid (the metadata service's expires_in).
const NodeTokenTTL = time.Hour

// nodeTokenPrefix starts every node token.
const nodeTokenPrefix = "sandbox-node."

// nodeToken mints the token of the machine at addr, valid until exp:
// "sandbox-node.<exp as Unix seconds>.<base64url HMAC-SHA256(key, addr, exp)>".
// It carries no state: the key and the request's address are enough to verify it.
func nodeToken(key []byte, addr netip.Addr, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return nodeTokenPrefix + e + "." + base64.RawURLEncoding.EncodeToString(nodeMAC(key, addr, e))
}

func nodeMAC(key []byte, addr netip.Addr, exp string) []byte {
	m := hmac.New(sha256.New, key)
	// The NUL separators keep "addr|exp" pairs from colliding.
	m.Write([]byte("pghac sandbox node token\x00" + canonical(addr).String() + "\x00" + exp))
	return m.Sum(nil)
}

// verifyNodeToken reports whether tok is a node token minted for addr that has not
// expired at now. A token minted for another address fails: that is what keeps a token
// copied off one machine from working on another.
func verifyNodeToken(key []byte, tok string, addr netip.Addr, now time.Time) bool {
	rest, ok := strings.CutPrefix(tok, nodeTokenPrefix)
	if !ok {
		return false
	}
	e, mac, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil {
		return false
	}
	return hmac.Equal(got, nodeMAC(key, addr, e))
}
