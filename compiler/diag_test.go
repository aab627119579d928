package compiler

import (
	"strings"
	"testing"
)

func TestDuplicateReportedOnceForSharedDefault(t *testing.T) {
	src := strings.Replace(threeNodes, "  network {", "  vm {\n    cores = 3\n  }\n  network {", 1)
	_, diags := compile(t, src)
	n := 0
	for _, d := range diags {
		if d.Summary == "Invalid core count" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the cluster vm's bad core count was reported %d times, want once: %v", n, diags)
	}
}
