package compiler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

func TestInSourceOrder(t *testing.T) {
	at := func(line, byte int) *hcl.Range {
		return &hcl.Range{Filename: "cluster.hcl", Start: hcl.Pos{Line: line, Byte: byte}}
	}
	diags := hcl.Diagnostics{
		{Summary: "none"},
		{Summary: "late", Subject: at(9, 90)},
		{Summary: "early", Subject: at(2, 20)},
		{Summary: "late too", Subject: at(9, 90)},
	}
	var got []string
	for _, d := range inSourceOrder(diags) {
		got = append(got, d.Summary)
	}
	if diff := cmp.Diff([]string{"early", "late", "late too", "none"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diags[0].Summary != "none" {
		t.Error("inSourceOrder sorted its argument in place")
	}
}
