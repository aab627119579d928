package compiler

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// archiveParameters are the PostgreSQL settings the backup block owns while it is enabled: WAL
// archiving into the repository. A user value would cut point-in-time recovery off silently.
var archiveParameters = []string{"archive_command", "archive_library", "archive_mode", "archive_timeout", "restore_command"}

// compileBackup resolves the backup block (on unless enabled = false) and, when on, adds WAL
// archiving to the PostgreSQL parameters c already has.
func compileBackup(d *diags, sc *schema.Cluster, c *model.Cluster, target model.Target) *model.Backup {
	sb := sc.Backup
	if sb == nil {
		sb = &schema.Backup{DefRange: sc.NameRange}
	}
	if !deref(sb.Enabled, true) {
		return nil
	}
	checkArchiveParameters(d, sc)
	b := &model.Backup{
		Stanza:        sc.Name,
		Endpoint:      model.YandexStorageEndpoint,
		Port:          443,
		Region:        model.YandexStorageRegion,
		Path:          "/pgbackrest",
		PartialType:   "diff",
		RetentionDays: defaultBackupRetentionDays,
		DeclRange:     sb.DefRange,
	}
	switch {
	case sb.Bucket != nil:
		b.Bucket = *sb.Bucket
		if !validBucket(b.Bucket) {
			d.invalidBucket(sb.BucketRange, b.Bucket)
		} else if sc.State != nil && sc.State.Bucket == b.Bucket {
			d.backupInStateBucket(sb.BucketRange, sc.State.BucketRange)
		}
	case target == model.TargetSandbox:
		// The sandbox's bucket is the sandbox's own: any name serves.
		b.Bucket = "pghac-" + sc.Name
	default:
		d.missingBackupBucket(sb.DefRange, sc.Backup != nil)
	}

	b.Full = schedule(d, sb.Full, defaultFullBackup, "full", sb.FullRange)
	partial, partialRange, name := sb.Differential, sb.DifferentialRange, "differential"
	if sb.Incremental != nil {
		if sb.Differential != nil {
			d.differentialAndIncremental(sb.IncrementalRange, sb.DifferentialRange)
		}
		partial, partialRange, name, b.PartialType = sb.Incremental, sb.IncrementalRange, "incremental", "incr"
	}
	b.Partial = schedule(d, partial, defaultPartialBackup, name, partialRange)

	if sb.Retention != nil {
		days, err := parseDays(*sb.Retention)
		switch {
		case err != nil:
			d.invalidRetention(sb.RetentionRange, err)
		case len(b.Full.Weekdays) > 0 && days < fullInterval(b.Full):
			d.retentionShorterThanFulls(sb.RetentionRange, *sb.Retention, fullInterval(b.Full), b.Full.Written)
		default:
			b.RetentionDays = days
		}
	}

	b.ArchiveTimeout = duration(d, sb.ArchiveTimeout, defaultArchiveTimeout, "archive_timeout", sb.ArchiveTimeoutRange, time.Second)
	if b.ArchiveTimeout < time.Second {
		d.archiveTimeoutTooShort(sb.ArchiveTimeoutRange, b.ArchiveTimeout)
	}
	b.ArchiveQueueMax = archiveQueueMax(d, sb, c.Nodes)

	b.DeletionProtection = deref(sb.DeletionProtection, c.DeletionProtection)
	b.Compression = deref(sb.Compression, defaultCompression)
	levels, ok := compressLevels[b.Compression]
	if !ok {
		d.invalidCompression(sb.CompressionRange, b.Compression, compressTypes())
	} else {
		b.CompressLevel = levels.def
		if sb.CompressionLevel != nil {
			if l := *sb.CompressionLevel; l < levels.min || l > levels.max {
				d.invalidCompressionLevel(sb.CompressionLevelRange, b.Compression, l, levels.min, levels.max)
			} else {
				b.CompressLevel = l
			}
		}
	}
	c.OS.Packages = append(slices.Clone(c.OS.Packages), "pgbackrest")
	slices.Sort(c.OS.Packages)
	if len(c.Postgres.Parameters) > 0 {
		c.Postgres.Parameters = withArchiving(c.Postgres.Parameters, b)
	}
	return b
}

// checkArchiveParameters refuses the postgres block's settings that the backup block owns.
func checkArchiveParameters(d *diags, sc *schema.Cluster) {
	if sc.Postgres == nil || sc.Postgres.Parameters == nil {
		return
	}
	attrs := sc.Postgres.Parameters.Attrs
	for _, name := range archiveParameters {
		if a, ok := attrs[name]; ok {
			d.archiveParameter(a.NameRange, name)
		}
	}
}

// withArchiving adds WAL archiving through pgBackRest to params: asynchronous archive-push,
// which returns to PostgreSQL as soon as the segment is queued and sends it in the
// background, several at a time.
func withArchiving(params []model.Parameter, b *model.Backup) []model.Parameter {
	params = slices.DeleteFunc(slices.Clone(params), func(p model.Parameter) bool {
		return slices.Contains(archiveParameters, p.Name)
	})
	params = append(params,
		model.Parameter{Name: "archive_mode", Value: "on"},
		model.Parameter{Name: "archive_command", Value: "pgbackrest --stanza=" + b.Stanza + " archive-push %p"},
		model.Parameter{Name: "archive_timeout", Value: strconv.Itoa(int(b.ArchiveTimeout/time.Second)) + "s"},
	)
	sort.Slice(params, func(i, j int) bool { return params[i].Name < params[j].Name })
	return params
}

// archiveQueueMax is the WAL a node may hold for an unreachable bucket: by default a quarter
// of the smallest database disk, and never more than half of it.
func archiveQueueMax(d *diags, sb *schema.Backup, nodes []model.Node) int64 {
	if len(nodes) == 0 {
		return 0
	}
	disk := nodes[0].VM.DiskSizeGB
	for _, n := range nodes[1:] {
		disk = min(disk, n.VM.DiskSizeGB)
	}
	diskBytes := int64(disk) << 30
	if sb.ArchiveQueueMax == nil {
		return diskBytes / 4
	}
	v, err := parseSize(*sb.ArchiveQueueMax)
	switch {
	case err != nil:
		d.invalidSize(sb.ArchiveQueueMaxRange, "archive_queue_max", err)
	case v < walSegment:
		d.archiveQueueTooSmall(sb.ArchiveQueueMaxRange, *sb.ArchiveQueueMax)
	case v > diskBytes/2:
		d.archiveQueueTooLarge(sb.ArchiveQueueMaxRange, *sb.ArchiveQueueMax, disk)
	default:
		return v
	}
	return diskBytes / 4
}

// walSegment is PostgreSQL's WAL segment size: the queue must hold at least one.
const walSegment = 16 << 20

// compressLevel is the range of a pgBackRest compress-type's levels and its default.
type compressLevel struct{ min, max, def int }

var compressLevels = map[string]compressLevel{
	"zst":  {-7, 22, 3},
	"lz4":  {-5, 12, 1},
	"gz":   {0, 9, 6},
	"bz2":  {1, 9, 9},
	"none": {0, 0, 0},
}

func compressTypes() []string {
	out := make([]string, 0, len(compressLevels))
	for t := range compressLevels {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// weekdayNames are the days as systemd's calendar writes them, Sunday first like time.Weekday.
var weekdayNames = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// schedule reads a backup schedule: "daily", "weekly", or "[DAYS] HH:MM" where DAYS is a
// comma-separated list of days and ranges of days ("Mon..Sat", "Sat,Sun"); no DAYS is every
// day. It is the part of systemd's calendar expressions that pghac can reason about (how
// often full backups run, against the retention).
func schedule(d *diags, v *string, def, name string, rng hcl.Range) model.Schedule {
	written := deref(v, def)
	s, err := parseSchedule(written)
	if err != nil {
		d.invalidBackupSchedule(rng, name, err)
		s, _ = parseSchedule(def)
	}
	return s
}

var clockRE = regexp.MustCompile(`^([01]?\d|2[0-3]):([0-5]\d)$`)

func parseSchedule(written string) (model.Schedule, error) {
	s := model.Schedule{Written: written}
	f := strings.Fields(written)
	switch {
	case len(f) == 1 && f[0] == "daily":
		f = []string{"00:00"}
	case len(f) == 1 && f[0] == "weekly":
		f = []string{"Mon", "00:00"}
	}
	var days []time.Weekday
	switch len(f) {
	case 1:
		for wd := time.Sunday; wd <= time.Saturday; wd++ {
			days = append(days, wd)
		}
	case 2:
		var err error
		if days, err = parseWeekdays(f[0]); err != nil {
			return s, err
		}
	default:
		return s, fmt.Errorf("want days and a time, like \"Sun 03:00\", \"Mon..Sat 03:00\" or \"daily\"")
	}
	m := clockRE.FindStringSubmatch(f[len(f)-1])
	if m == nil {
		return s, fmt.Errorf("%q is not a time of day: write HH:MM, like \"03:00\"", f[len(f)-1])
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	slices.Sort(days)
	days = slices.Compact(days)
	names := make([]string, len(days))
	for i, wd := range days {
		names[i] = weekdayNames[wd]
	}
	s.Weekdays = days
	s.Calendar = fmt.Sprintf("%s *-*-* %02d:%02d:00", strings.Join(names, ","), h, mi)
	return s, nil
}

// parseWeekdays reads "Mon..Sat", "Sat,Sun" or "Mon,Wed..Fri".
func parseWeekdays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	for _, item := range strings.Split(s, ",") {
		from, to, isRange := strings.Cut(item, "..")
		a, err := weekday(from)
		if err != nil {
			return nil, err
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b, err := weekday(to)
		if err != nil {
			return nil, err
		}
		if b < a {
			return nil, fmt.Errorf("%q runs backwards: write the week from Sunday to Saturday, or list the days", item)
		}
		for wd := a; wd <= b; wd++ {
			out = append(out, wd)
		}
	}
	return out, nil
}

func weekday(s string) (time.Weekday, error) {
	for i, n := range weekdayNames {
		if strings.EqualFold(s, n) {
			return time.Weekday(i), nil
		}
	}
	return 0, fmt.Errorf("%q is not a day: use %s", s, strings.Join(weekdayNames, ", "))
}

// fullInterval is the longest time in days between two full backups of s.
func fullInterval(s model.Schedule) int {
	days := s.Weekdays
	longest := 7 - int(days[len(days)-1]) + int(days[0]) // across the week's end
	for i := 1; i < len(days); i++ {
		longest = max(longest, int(days[i]-days[i-1]))
	}
	return longest
}

// parseDays reads a retention: a whole number of days ("14d") or weeks ("4w").
func parseDays(s string) (int, error) {
	unit := 0
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 1
	case strings.HasSuffix(s, "w"):
		unit = 7
	}
	n, err := strconv.Atoi(strings.TrimRight(s, "dw"))
	if unit == 0 || err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a number of days or weeks: write it like \"14d\" or \"4w\"", s)
	}
	return n * unit, nil
}
