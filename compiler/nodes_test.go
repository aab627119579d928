package compiler

import (
	"net/netip"
	"testing"
)

func TestLastAddr(t *testing.T) {
	for in, want := range map[string]string{"10.128.0.0/24": "10.128.0.255", "10.0.0.0/16": "10.0.255.255", "192.168.1.16/28": "192.168.1.31"} {
		if got := lastAddr(netip.MustParsePrefix(in)).String(); got != want {
			t.Errorf("lastAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
