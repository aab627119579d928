package compiler

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1MB": 1 << 20, "512kB": 512 << 10, "16GB": 16 << 30, "1 MB": 1 << 20, "7B": 7} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1mb", "-1MB", "1.5GB", "lots", "99999999999TB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted a bad size", in)
		}
	}
}
