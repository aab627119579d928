package compiler

import (
	"sort"
	"strings"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// reservedParameters are set by Patroni or pghac on every member; a user value would be
// overwritten or would break replication, failover or PgBouncer.
var reservedParameters = map[string]string{
	"cluster_name":              "Patroni sets it to the cluster's scope.",
	"config_file":               "Patroni manages the configuration files.",
	"data_directory":            "It is fixed by the image's PostgreSQL layout.",
	"hba_file":                  "Patroni writes pg_hba.conf from pghac's rules.",
	"ident_file":                "Patroni manages the configuration files.",
	"listen_addresses":          "Patroni sets it from the node's address.",
	"port":                      "Set postgres.port instead.",
	"primary_conninfo":          "Patroni sets it on replicas.",
	"primary_slot_name":         "Patroni manages replication slots.",
	"synchronous_standby_names": "Patroni manages it; set patroni.synchronous_mode instead.",
	"unix_socket_directories":   "PgBouncer and Patroni connect through the image's socket directory.",
}

// requiredValues are parameters whose value pghac depends on; anything else is refused.
var requiredValues = map[string][]string{
	"hot_standby":         {"on"},
	"password_encryption": {"scram-sha-256"},
	"wal_level":           {"replica", "logical"},
}

// deriveParameters sizes PostgreSQL for the smallest node, since a replica must be able to take
// over with the same settings (max_connections and friends may not be lower on a standby).
func deriveParameters(nodes []model.Node, poolSize int) []model.Parameter {
	vm := nodes[0].VM
	for _, n := range nodes[1:] {
		if n.VM.MemoryGB < vm.MemoryGB {
			vm.MemoryGB = n.VM.MemoryGB
		}
		if n.VM.Cores < vm.Cores {
			vm.Cores = n.VM.Cores
		}
		if n.VM.DiskSizeGB < vm.DiskSizeGB {
			vm.DiskSizeGB = n.VM.DiskSizeGB
		}
	}
	memMB := vm.MemoryMB()
	maxConn := max(100, 2*poolSize+20)
	shared := memMB / 4
	walMax := clamp(vm.DiskSizeGB*1024/10, 256, 16384) // a tenth of the disk for WAL between checkpoints
	ssd := strings.Contains(vm.DiskType, "ssd")
	half := max(1, vm.Cores/2)
	slots := max(10, len(nodes)+5)

	p := []model.Parameter{
		{Name: "effective_cache_size", Value: mb(memMB * 3 / 4)},
		{Name: "effective_io_concurrency", Value: pick(ssd, "200", "2")},
		{Name: "hot_standby", Value: "on"},
		{Name: "hot_standby_feedback", Value: "on"},
		{Name: "maintenance_work_mem", Value: mb(min(memMB/16, 2048))},
		{Name: "max_connections", Value: itoa(maxConn)},
		{Name: "max_parallel_maintenance_workers", Value: itoa(half)},
		{Name: "max_parallel_workers", Value: itoa(vm.Cores)},
		{Name: "max_parallel_workers_per_gather", Value: itoa(half)},
		{Name: "max_replication_slots", Value: itoa(slots)},
		{Name: "max_wal_senders", Value: itoa(slots)},
		{Name: "max_wal_size", Value: mb(walMax)},
		{Name: "max_worker_processes", Value: itoa(max(8, vm.Cores))},
		{Name: "min_wal_size", Value: mb(walMax / 4)},
		{Name: "password_encryption", Value: "scram-sha-256"},
		{Name: "random_page_cost", Value: pick(ssd, "1.1", "4")},
		{Name: "shared_buffers", Value: mb(shared)},
		// Keep enough WAL for a replica that fell behind briefly to catch up without a rebuild.
		{Name: "wal_keep_size", Value: mb(clamp(vm.DiskSizeGB*1024/20, 128, 8192))},
		{Name: "wal_level", Value: "replica"},
		// pg_rewind needs hint bits in WAL (initdb also enables data checksums).
		{Name: "wal_log_hints", Value: "on"},
		{Name: "work_mem", Value: itoa(max(4096, (memMB-shared)*1024/(maxConn*3))) + "kB"},
	}
	return p
}

// applyUserParameters overrides derived parameters with the file's, refusing reserved names and
// values pghac depends on.
func applyUserParameters(d *diags, derived []model.Parameter, block *schema.Parameters) []model.Parameter {
	if block == nil {
		return derived
	}
	byName := map[string]int{}
	for i, p := range derived {
		byName[p.Name] = i
	}
	out := append([]model.Parameter(nil), derived...)
	names := make([]string, 0, len(block.Attrs))
	for name := range block.Attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		attr := block.Attrs[name]
		if why, ok := reservedParameters[name]; ok {
			d.reservedParameter(attr.NameRange, name, why)
			continue
		}
		value, vd := schema.Value(attr)
		if vd.HasErrors() {
			d.Diagnostics = append(d.Diagnostics, vd...)
			continue
		}
		if allowed, ok := requiredValues[name]; ok && !contains(allowed, value) {
			d.unsupportedParameterValue(attr.Expr.Range(), name, value, allowed)
			continue
		}
		p := model.Parameter{Name: name, Value: value, FromUser: true}
		if i, ok := byName[name]; ok {
			out[i] = p
		} else {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func mb(n int) string { return itoa(n) + "MB" }

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

func clamp(v, lo, hi int) int { return min(max(v, lo), hi) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
