package compiler

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/pghac/pghac/compiler/model"
)

const threeNodes = `
cluster "main" {
  network {
    subnet "ru-central1-a" { cidr = "10.128.0.0/24" }
    subnet "ru-central1-b" { cidr = "10.129.0.0/24" }
    subnet "ru-central1-d" { cidr = "10.130.0.0/24" }
  }
  node "node2" {
    zone    = "ru-central1-d"
    address = "10.130.0.28"
  }
  node "node0" {
    zone    = "ru-central1-a"
    address = "10.128.0.16"
  }
  node "node1" {
    zone    = "ru-central1-b"
    address = "10.129.0.14"
    etcd_member = true
  }
  backup {
    bucket = "pghac-test-main"
  }
}
`

func compile(t *testing.T, src string) (*model.Cluster, hcl.Diagnostics) {
	t.Helper()
	_, c, diags := CompileSource([]byte(src), "cluster.hcl", model.TargetYandex)
	return c, diags
}

func TestCompileDefaults(t *testing.T) {
	c, diags := compile(t, threeNodes)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics: %v", diags)
	}
	var names []string
	for _, n := range c.Nodes {
		names = append(names, n.Name)
	}
	if diff := cmp.Diff([]string{"node0", "node1", "node2"}, names); diff != "" {
		t.Errorf("nodes are not sorted by name (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"node0", "node1", "node2"}, c.Etcd.Members); diff != "" {
		t.Errorf("etcd members (-want +got):\n%s", diff)
	}
	wantPatroni := model.Patroni{Scope: "main", Namespace: "/service/", TTL: 20, LoopWait: 2, RetryTimeout: 4,
		MaximumLagOnFailover: 1 << 20, SynchronousMode: true, FailsafeMode: true, UsePgRewind: true,
		RestAPIPort: 8008, Watchdog: "off"}
	if diff := cmp.Diff(wantPatroni, c.Patroni); diff != "" {
		t.Errorf("patroni (-want +got):\n%s", diff)
	}
	wantVM := model.VM{Platform: "standard-v3", Cores: 2, CoreFraction: 100, MemoryGB: 4, DiskSizeGB: 20, DiskType: "network-ssd", PublicIP: true}
	if diff := cmp.Diff(wantVM, c.Nodes[0].VM); diff != "" {
		t.Errorf("vm (-want +got):\n%s", diff)
	}
	if c.OS.PostgresMajor != 15 || c.OS.BinDir != "/usr/lib/postgresql/15/bin" || c.Postgres.Major != 15 {
		t.Errorf("debian-12 should give PostgreSQL 15 paths, got %+v", c.OS)
	}
	wantClients := []netip.Prefix{netip.MustParsePrefix("10.128.0.0/24"), netip.MustParsePrefix("10.129.0.0/24"), netip.MustParsePrefix("10.130.0.0/24")}
	if diff := cmp.Diff(wantClients, c.Network.ClientCIDRs, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("client CIDRs default to the subnets (-want +got):\n%s", diff)
	}
	if c.Etcd.HeartbeatInterval != 50*time.Millisecond || c.Etcd.ElectionTimeout != 500*time.Millisecond {
		t.Errorf("etcd timings default to 50ms/500ms, got %s/%s", c.Etcd.HeartbeatInterval, c.Etcd.ElectionTimeout)
	}
	if c.PgBouncer.ServerLoginRetry != time.Second || c.HAProxy.Check.Inter != time.Second || c.HAProxy.ReplicaMaxLagBytes != 1<<20 {
		t.Errorf("pgbouncer/haproxy defaults: %+v %+v", c.PgBouncer, c.HAProxy)
	}
}

func TestUbuntu2204TurnsFailsafeOff(t *testing.T) {
	src := strings.Replace(threeNodes, "  network {", "  vm {\n    image_family = \"ubuntu-2204-lts\"\n  }\n  network {", 1)
	c, diags := compile(t, src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if c.Patroni.FailsafeMode || c.OS.PostgresMajor != 14 || !contains(c.OS.Packages, "postgresql-14") {
		t.Errorf("ubuntu-2204-lts: failsafe %v, postgres %d, packages %v", c.Patroni.FailsafeMode, c.OS.PostgresMajor, c.OS.Packages)
	}
}

// TestBastionDefaults: with a bastion, database VMs lose their public address unless a vm
// block gives it back, the load generator keeps its own, and the bastion is small and public.
func TestBastionDefaults(t *testing.T) {
	const bastion = `  bastion {
    zone    = "ru-central1-a"
    address = "10.128.0.5"
  }
  load_generator {
    zone    = "ru-central1-d"
    address = "10.130.0.100"
    artifact {
      url    = "https://example.com/pghac"
      sha256 = "5d5b09f6dcb2d53a5fffc60c4ac0d55fabdf556069d6631545f42aa6e3500f2e"
    }
  }
}
`
	src := strings.TrimSuffix(threeNodes, "}\n") + bastion
	c, diags := compile(t, src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, n := range c.Nodes {
		if n.VM.PublicIP {
			t.Errorf("%s has a public address beside a bastion", n.Name)
		}
	}
	if !c.LoadGenerator.VM.PublicIP {
		t.Errorf("the load generator lost its public address")
	}
	want := model.Bastion{Name: "bastion", Zone: "ru-central1-a", Address: netip.MustParseAddr("10.128.0.5"),
		VM: model.VM{Platform: "standard-v3", Cores: 2, CoreFraction: 20, MemoryGB: 1, DiskSizeGB: 10, DiskType: "network-hdd", PublicIP: true}}
	if diff := cmp.Diff(want, *c.Bastion, cmpopts.IgnoreFields(model.Bastion{}, "DeclRange"), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("bastion (-want +got):\n%s", diff)
	}
	// A public address asked for in the cluster's vm block stays; the sandbox has no bastion.
	c, diags = compile(t, strings.Replace(src, "  node \"node2\" {", "  vm {\n    public_ip = true\n  }\n  node \"node2\" {", 1))
	if diags.HasErrors() || !c.Nodes[0].VM.PublicIP {
		t.Errorf("vm { public_ip = true } beside a bastion: %v, public %v", diags, c.Nodes[0].VM.PublicIP)
	}
	if _, c, diags := CompileSource([]byte(src), "cluster.hcl", model.TargetSandbox); diags.HasErrors() || c.Bastion != nil {
		t.Errorf("sandbox: %v, bastion %v; want none", diags, c.Bastion)
	}
}

// TestLocalBuilds: a backend or load generator without an artifact block runs pghac's own
// build, located by the template variables; a placeholder checksum in a block is an error for
// the cloud, which would fail every boot, and nothing for the sandbox, which serves its build.
func TestLocalBuilds(t *testing.T) {
	blocks := func(artifact string) string {
		return strings.TrimSuffix(threeNodes, "}\n") + "  backend {\n" + artifact + "  }\n" +
			"  load_generator {\n    zone    = \"ru-central1-d\"\n    address = \"10.130.0.100\"\n" + artifact + "  }\n}\n"
	}
	c, diags := compile(t, blocks(""))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if !c.Backend.LocalBuild || c.Backend.ArtifactURL != "${backend_artifact_url}" || c.Backend.ArtifactSHA256 != "${backend_artifact_sha256}" {
		t.Errorf("backend without artifact: %+v", c.Backend)
	}
	if lg := c.LoadGenerator; !lg.LocalBuild || lg.ArtifactURL != "${pghac_artifact_url}" || lg.ArtifactSHA256 != "${pghac_artifact_sha256}" {
		t.Errorf("load generator without artifact: %+v", lg)
	}
	artifact := func(sha string) string {
		return "    artifact {\n      url    = \"https://example.com/b\"\n      sha256 = \"" + sha + "\"\n    }\n"
	}
	good := strings.Repeat("5d", 32)
	if c, diags := compile(t, blocks(artifact(strings.ToUpper(good)))); diags.HasErrors() || c.Backend.LocalBuild || c.Backend.ArtifactSHA256 != good {
		t.Errorf("artifact block: %v, %+v", diags, c.Backend)
	}
	for _, sha := range []string{strings.Repeat("0", 64), strings.Repeat("f", 64), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"} {
		_, diags := compile(t, blocks(artifact(sha)))
		if n := len(errorSummaries(diags, "Placeholder SHA-256")); n != 2 {
			t.Errorf("sha256 %s: %d placeholder errors, want one per block: %v", sha, n, diags)
		}
		if _, c, diags := CompileSource([]byte(blocks(artifact(sha))), "cluster.hcl", model.TargetSandbox); diags.HasErrors() || !c.Backend.LocalBuild {
			t.Errorf("sandbox, sha256 %s: %v; want the host's build", sha, diags)
		}
	}
}

// errorSummaries are the errors of diags with summary.
func errorSummaries(diags hcl.Diagnostics, summary string) []*hcl.Diagnostic {
	var out []*hcl.Diagnostic
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Summary == summary {
			out = append(out, d)
		}
	}
	return out
}

// TestDeletionProtection: on unless the file lifts it; the backups follow the cluster unless
// their block says otherwise.
func TestDeletionProtection(t *testing.T) {
	src := func(cluster, backup string) string {
		s := strings.Replace(threeNodes, "    bucket = \"pghac-test-main\"\n", "    bucket = \"pghac-test-main\"\n"+backup, 1)
		return strings.Replace(s, "cluster \"main\" {\n", "cluster \"main\" {\n"+cluster, 1)
	}
	for _, c := range []struct {
		cluster, backup    string
		wantCluster, wantB bool
	}{
		{"", "", true, true},
		{"  deletion_protection = false\n", "", false, false},
		{"  deletion_protection = false\n", "    deletion_protection = true\n", false, true},
		{"", "    deletion_protection = false\n", true, false},
	} {
		cl, diags := compile(t, src(c.cluster, c.backup))
		if diags.HasErrors() {
			t.Fatalf("%q %q: %v", c.cluster, c.backup, diags)
		}
		if cl.DeletionProtection != c.wantCluster || cl.Backup.DeletionProtection != c.wantB {
			t.Errorf("%q %q: cluster %v, backup %v; want %v, %v", c.cluster, c.backup, cl.DeletionProtection, cl.Backup.DeletionProtection, c.wantCluster, c.wantB)
		}
	}
}
