// Package nettest holds loopback network fixtures for tests that must not race a neighbour
// for a port.
package nettest

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// ClosedAddr is a 127.0.0.1 address ("127.0.0.1:PORT") that refuses connections until the
// test ends: a socket bound to its port that never listens keeps anyone else from listening
// there meanwhile, unlike a port picked, closed and hoped to stay free.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}
