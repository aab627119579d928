package compiler

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseSize reads a size like "1MB", "512kB", "16GB" or a plain number of bytes, with
// PostgreSQL's units (powers of 1024).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"kB", 1 << 10}, {"B", 1}}
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size: write a whole number with a unit, like \"1MB\", \"512kB\" or \"1GB\"", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// parseDuration reads a duration like "1s" or "500ms".
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration: write a number with a unit, like \"500ms\", \"1s\" or \"2m\"", s)
	}
	return d, nil
}

func itoa(i int) string { return strconv.Itoa(i) }
