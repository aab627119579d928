package compiler

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler/model"
)

// TestJumpHost: network's jump_host is [user@]host[:port]; anything else is an error at its
// value, with the form.
func TestJumpHost(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    *model.JumpHost
		summary string // "Invalid jump host" when ""
		err     string
	}{
		{in: "bastion.example.com", want: &model.JumpHost{Host: "bastion.example.com", Port: 22}},
		{in: "debian@203.0.113.10:2222", want: &model.JumpHost{User: "debian", Host: "203.0.113.10", Port: 2222}},
		{in: "ops@[2001:db8::1]:22", want: &model.JumpHost{User: "ops", Host: "2001:db8::1", Port: 22}},
		{in: "", err: `"": write a host name or address`},
		{in: "@bastion", err: `"@bastion": the user before @ is not a login name`},
		{in: "bastion:70000", err: `"bastion:70000": "70000" is not a port (1-65535)`},
		{in: "bastion.example.com/22", err: `"bastion.example.com/22": write a host name or address`},
		// The nodes admit SSH from admin_cidrs only.
		{in: "198.51.100.7", summary: "Jump host outside the admin CIDRs", err: "The nodes admit SSH only from admin_cidrs (203.0.113.0/24), and 198.51.100.7 is not among them"},
	} {
		src := strings.Replace(threeNodes, "  network {", "  network {\n    jump_host = \""+tt.in+"\"\n    admin_cidrs = [\"203.0.113.0/24\"]", 1)
		c, diags := compile(t, src)
		if tt.err != "" {
			if len(diags) != 1 || diags[0].Summary != summaryOr(tt.summary) || !strings.HasPrefix(diags[0].Detail, tt.err) ||
				diags[0].Subject == nil || diags[0].Subject.Start.Line != 4 {
				t.Errorf("%q: %v; want one error at line 4 starting %q", tt.in, diags, tt.err)
			}
			continue
		}
		if len(diags) > 0 {
			t.Errorf("%q: %v", tt.in, diags)
			continue
		}
		if diff := cmp.Diff(tt.want, c.Network.JumpHost, cmpopts.IgnoreTypes(hcl.Range{})); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.in, diff)
		}
	}
	if c, _ := compile(t, threeNodes); c.Network.JumpHost != nil {
		t.Errorf("no jump_host: %+v", c.Network.JumpHost)
	}
}

// summaryOr is s, or "Invalid jump host" when s is "".
func summaryOr(s string) string {
	if s == "" {
		return "Invalid jump host"
	}
	return s
}
