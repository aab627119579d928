package compiler

// platform is what Yandex Compute allows for one platform_id (docs: compute/concepts/
// vm-platforms.md and performance-levels.md; see shared/reference/yandex-terraform.md).
type platform struct {
	ID       string
	CPU      string
	MaxCores int
	// Fractions are the allowed core_fraction values.
	Fractions []int
	// LowFractionMaxCores limits cores for fractions below 50 (0: no limit).
	LowFractionMaxCores int
	// Memory per core in GB, below 100 % and at 100 % core fraction (0: not documented).
	MinGBPerCoreShared, MaxGBPerCoreShared float64
	MinGBPerCore, MaxGBPerCore             float64
	// NotInZones lists zones that do not offer the platform.
	NotInZones []string
}

var platforms = []platform{
	{ID: "standard-v1", CPU: "Intel Broadwell", MaxCores: 32, Fractions: []int{5, 20, 100}, LowFractionMaxCores: 4,
		NotInZones: []string{"ru-central1-d", "ru-central1-e"}},
	{ID: "standard-v2", CPU: "Intel Cascade Lake", MaxCores: 80, Fractions: []int{5, 20, 50, 100}},
	{ID: "standard-v3", CPU: "Intel Ice Lake", MaxCores: 96, Fractions: []int{20, 50, 100},
		MinGBPerCoreShared: 0.5, MaxGBPerCoreShared: 4, MinGBPerCore: 1, MaxGBPerCore: 16},
}

func findPlatform(id string) (platform, bool) {
	for _, p := range platforms {
		if p.ID == id {
			return p, true
		}
	}
	return platform{}, false
}

func platformIDs() []string {
	out := make([]string, len(platforms))
	for i, p := range platforms {
		out[i] = p.ID
	}
	return out
}

// diskTypes are the boot disk types Yandex Compute offers.
var diskTypes = []string{"network-hdd", "network-ssd", "network-ssd-io-m3", "network-ssd-nonreplicated"}

// nonreplicatedStepGB: non-replicated and io-m3 disks are allocated in steps of this size.
const nonreplicatedStepGB = 93
