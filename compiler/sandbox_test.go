package compiler

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler/model"
)

func compileFor(t *testing.T, src string, target model.Target) (*model.Cluster, hcl.Diagnostics) {
	t.Helper()
	_, c, diags := CompileSource([]byte(src), "cluster.hcl", target)
	return c, diags
}

// withBlocks adds blocks to threeNodes' cluster.
func withBlocks(blocks string) string {
	i := strings.LastIndex(threeNodes, "}")
	return threeNodes[:i] + blocks + "\n}\n"
}

func TestSandboxAddresses(t *testing.T) {
	src := withBlocks(`
  backend {
    artifact {
      url    = "https://example.com/pghac-backend"
      sha256 = "5d5b09f6dcb2d53a5fffc60c4ac0d55fabdf556069d6631545f42aa6e3500f2e"
    }
  }
  load_generator {
    zone    = "ru-central1-d"
    address = "10.130.0.100"
    artifact {
      url    = "https://example.com/pghac"
      sha256 = "5d5b09f6dcb2d53a5fffc60c4ac0d55fabdf556069d6631545f42aa6e3500f2e"
    }
  }
  load_balancer {}
  state { bucket = "tfstate" }
`)
	c, diags := compileFor(t, src, model.TargetSandbox)
	if diags.HasErrors() {
		t.Fatalf("unexpected errors: %v", diags)
	}
	var got []string
	for _, n := range c.Nodes {
		got = append(got, n.Name+"="+n.Address.String()+"@"+n.Zone)
	}
	want := []string{"node0=10.213.0.11@ru-central1-a", "node1=10.213.0.12@ru-central1-b", "node2=10.213.0.13@ru-central1-d"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("node addresses (-want +got):\n%s", diff)
	}
	cidr := netip.MustParsePrefix("10.213.0.0/24")
	if c.Sandbox == nil || c.Sandbox.CIDR != cidr || c.Sandbox.HostAddress != netip.MustParseAddr("10.213.0.1") || c.Sandbox.Bridge != "pghac0" {
		t.Errorf("Sandbox = %+v, want 10.213.0.0/24, host 10.213.0.1, bridge pghac0", c.Sandbox)
	}
	if len(c.Network.Subnets) != 1 || c.Network.Subnets[0].CIDR != cidr {
		t.Errorf("subnets = %+v, want the sandbox network only", c.Network.Subnets)
	}
	for what, got := range map[string][]netip.Prefix{"client": c.Network.ClientCIDRs, "admin": c.Network.AdminCIDRs, "backend": c.Backend.AllowFrom} {
		if diff := cmp.Diff([]netip.Prefix{cidr}, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("%s CIDRs (-want +got):\n%s", what, diff)
		}
	}
	if c.LoadGenerator != nil || c.LoadBalancer != nil || c.State != nil {
		t.Errorf("the sandbox has no load generator, load balancer or remote state: %+v %+v %+v", c.LoadGenerator, c.LoadBalancer, c.State)
	}

	// The same file for the cloud is untouched by the sandbox.
	y, diags := compileFor(t, src, model.TargetYandex)
	if diags.HasErrors() {
		t.Fatalf("yandex: %v", diags)
	}
	if y.Sandbox != nil || y.Nodes[0].Address != netip.MustParseAddr("10.128.0.16") || len(y.Network.Subnets) != 3 || y.LoadGenerator == nil {
		t.Errorf("yandex model changed by the sandbox: %+v", y)
	}
}

func TestSandboxCustomCIDR(t *testing.T) {
	c, diags := compileFor(t, withBlocks(`  sandbox { cidr = "192.168.77.16/28" }`), model.TargetSandbox)
	if diags.HasErrors() {
		t.Fatalf("unexpected errors: %v", diags)
	}
	if got := c.Nodes[2].Address.String(); got != "192.168.77.29" {
		t.Errorf("node2's address = %s, want 192.168.77.29", got)
	}
	if got := c.Sandbox.HostAddress.String(); got != "192.168.77.17" {
		t.Errorf("host address = %s, want 192.168.77.17", got)
	}
}

// TestSandboxJumpHost: a cluster with a jump host gets the sandbox's stand-in (sshd on the
// host's bridge address), so that pghac reaches the machines through one as it reaches the
// cloud's VMs; a cluster without one reaches them directly on both targets.
func TestSandboxJumpHost(t *testing.T) {
	src := strings.Replace(threeNodes, "  network {", "  network {\n    jump_host = \"ops@bastion.example.com\"", 1)
	c, diags := compileFor(t, src, model.TargetSandbox)
	if diags.HasErrors() {
		t.Fatalf("unexpected errors: %v", diags)
	}
	if c.Network.JumpHost == nil || c.Network.JumpHost.Addr() != "10.213.0.1:2222" || c.Network.JumpHost.User != "root" {
		t.Errorf("sandbox jump host = %+v, want root@10.213.0.1:2222", c.Network.JumpHost)
	}
	y, diags := compileFor(t, src, model.TargetYandex)
	if diags.HasErrors() {
		t.Fatalf("yandex: %v", diags)
	}
	if y.Network.JumpHost == nil || y.Network.JumpHost.Addr() != "bastion.example.com:22" || y.Network.JumpHost.User != "ops" {
		t.Errorf("yandex jump host = %+v, want ops@bastion.example.com:22", y.Network.JumpHost)
	}
	for _, target := range model.Targets {
		c, diags := compileFor(t, threeNodes, target)
		if diags.HasErrors() || c.Network.JumpHost != nil {
			t.Errorf("%s without jump_host: jump host %+v (%v)", target, c.Network.JumpHost, diags)
		}
	}
}

func TestSandboxErrors(t *testing.T) {
	long := strings.Replace(threeNodes, `node "node2"`, `node "node2-is-too-long"`, 1)
	tests := []struct {
		name, src string
		target    model.Target
		summary   string
		line      int // of the diagnostic's subject
	}{
		{"name too long", long, model.TargetSandbox, "Node name too long for the sandbox", 8},
		{"invalid", withBlocks(`  sandbox { cidr = "10.213.0.0" }`), model.TargetYandex, "Invalid sandbox network", 24},
		{"host bits", withBlocks(`  sandbox { cidr = "10.213.0.1/24" }`), model.TargetSandbox, "Invalid sandbox network", 24},
		{"ipv6", withBlocks(`  sandbox { cidr = "fd00::/64" }`), model.TargetSandbox, "Invalid sandbox network", 24},
		{"public", withBlocks(`  sandbox { cidr = "8.8.8.0/24" }`), model.TargetSandbox, "Sandbox network outside the private ranges", 24},
		{"too big", withBlocks(`  sandbox { cidr = "10.0.0.0/8" }`), model.TargetSandbox, "Invalid sandbox network size", 24},
		{"too small", withBlocks(`  sandbox { cidr = "10.213.0.0/29" }`), model.TargetSandbox, "Invalid sandbox network size", 24},
		{"ubuntu", withBlocks(`  vm { image_family = "ubuntu-2404-lts" }`), model.TargetSandbox, "Image not available in the sandbox", 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := compileFor(t, tt.src, tt.target)
			var found *hcl.Diagnostic
			for _, d := range diags {
				if d.Summary == tt.summary {
					found = d
				}
			}
			if found == nil || found.Severity != hcl.DiagError {
				t.Fatalf("no error %q in %v", tt.summary, diags)
			}
			if found.Subject == nil || found.Subject.Start.Line != tt.line {
				t.Errorf("%q points at %v, want line %d", tt.summary, found.Subject, tt.line)
			}
		})
	}
	// A long name is the sandbox's limit only.
	if _, diags := compileFor(t, long, model.TargetYandex); diags.HasErrors() {
		t.Errorf("yandex refuses a 17-character node name: %v", diags)
	}
}

func TestSandboxNoRoom(t *testing.T) {
	var b strings.Builder
	b.WriteString(`cluster "main" {
  network {
    subnet "ru-central1-a" { cidr = "10.128.0.0/24" }
  }
  sandbox { cidr = "10.213.0.0/28" }
`)
	for i, a := range []string{"11", "12", "13", "14", "15"} {
		b.WriteString(`  node "n` + string(rune('0'+i)) + `" {
    zone    = "ru-central1-a"
    address = "10.128.0.` + a + `"
  }
`)
	}
	b.WriteString("}\n")
	_, diags := compileFor(t, b.String(), model.TargetSandbox)
	found := false
	for _, d := range diags {
		if d.Summary == "Sandbox network too small" {
			found = true
			if !strings.Contains(d.Detail, "room for 4 nodes") || d.Subject.Start.Line != 5 {
				t.Errorf("detail %q at %v", d.Detail, d.Subject)
			}
		}
	}
	if !found {
		t.Errorf("five nodes fit in a /28: %v", diags)
	}
}
