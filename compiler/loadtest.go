package compiler

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pghac/pghac/compiler/model"
	"github.com/pghac/pghac/schema"
)

// compileLoadTests resolves the load_test blocks. A load test fires at a node's backend, so it
// needs the backend block and a node to aim at.
func compileLoadTests(d *diags, sc *schema.Cluster, c *model.Cluster) []model.LoadTest {
	seen := firstSeen{}
	var out []model.LoadTest
	for _, lt := range sc.LoadTests {
		if first, dup := seen.again(lt.Name, lt.NameRange); dup {
			d.duplicateLoadTest(lt.NameRange, first, lt.Name)
			continue
		}
		checkName(d, "load test", lt.Name, lt.NameRange)
		if c.Backend == nil {
			d.loadTestWithoutBackend(lt.DefRange)
		}
		m := model.LoadTest{
			Name:      lt.Name,
			Schedule:  lt.Schedule,
			Instances: positive(d, lt.Instances, defaultLoadInstances, "instances", lt.InstancesRange),
			Timeout:   duration(d, lt.Timeout, defaultLoadTimeout, "timeout", lt.TimeoutRange, time.Millisecond),
			DeclRange: lt.DefRange,
		}
		dur, err := scheduleDuration(lt.Schedule)
		if err != nil {
			d.invalidSchedule(lt.ScheduleRange, err)
		}
		m.Duration = dur

		m.Ammo = slices.Clone(model.AmmoKinds)
		if lt.AmmoExpr != nil && lt.Ammo != nil {
			m.Ammo = nil
			for _, a := range lt.Ammo {
				if !slices.Contains(model.AmmoKinds, a.Value) {
					d.unknownAmmo(a.Range, a.Value, model.AmmoKinds)
				} else if slices.Contains(m.Ammo, a.Value) {
					d.duplicateAmmo(a.Range, a.Value)
				} else {
					m.Ammo = append(m.Ammo, a.Value)
				}
			}
			if len(lt.Ammo) == 0 {
				d.noAmmo(lt.AmmoExpr.Range(), model.AmmoKinds)
			}
		}

		if len(c.Nodes) > 0 {
			m.Node = c.Nodes[0].Name
		}
		if lt.Node != nil {
			m.Node = *lt.Node
			if !slices.ContainsFunc(c.Nodes, func(n model.Node) bool { return n.Name == *lt.Node }) {
				d.loadTestUnknownNode(lt.NodeRange, *lt.Node)
			}
		}

		if lt.Autostop == nil {
			m.Autostop = []string{"http(5xx,10%,5s)", "net(xx,10%,5s)", "limit(" + tankDuration(dur+loadLimitSlack) + ")"}
		}
		for _, a := range lt.Autostop {
			if err := checkAutostop(a.Value); err != nil {
				d.invalidAutostop(a.Range, a.Value, err)
			}
			m.Autostop = append(m.Autostop, a.Value)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Yandex Tank's schedule grammar (yandextank/validator/validator.py): segments name(args), all
// arguments numbers except the last, a duration of whole d/h/m/s units, bare seconds allowed.
var (
	segmentRE      = regexp.MustCompile(`^\s*([a-z_]+)\((.*)$`)
	tankDurationRE = regexp.MustCompile(`^(\d+d)?(\d+h)?(\d+m)?(\d+s?)?$`)
	segmentArgs    = map[string]int{"line": 3, "const": 2, "step": 4}
)

// scheduleDuration checks a Tank rps schedule and returns how long it runs.
func scheduleDuration(s string) (time.Duration, error) {
	parts := strings.Split(s, ")")
	if strings.TrimSpace(parts[len(parts)-1]) != "" {
		return 0, fmt.Errorf("%q is not a segment like const(10, 1m)", strings.TrimSpace(parts[len(parts)-1]))
	}
	var total time.Duration
	n := 0
	for _, p := range parts[:len(parts)-1] {
		m := segmentRE.FindStringSubmatch(p)
		if m == nil {
			return 0, fmt.Errorf("%q is not a segment like const(10, 1m)", strings.TrimSpace(p)+")")
		}
		name, args := m[1], strings.Split(m[2], ",")
		want, ok := segmentArgs[name]
		if !ok {
			return 0, fmt.Errorf("unknown segment %q", name)
		}
		if len(args) != want {
			return 0, fmt.Errorf("%s takes %d arguments, not %d", name, want, len(args))
		}
		nums := make([]float64, want-1)
		for i := range nums {
			v, err := strconv.ParseFloat(strings.TrimSpace(args[i]), 64)
			if err != nil || v < 0 || math.IsInf(v, 0) {
				return 0, fmt.Errorf("%s: %q is not a rate (a number >= 0)", name, strings.TrimSpace(args[i]))
			}
			nums[i] = v
		}
		dur, err := parseTankDuration(strings.TrimSpace(args[want-1]))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		switch name {
		case "step":
			from, to, step := nums[0], nums[1], nums[2]
			if step == 0 {
				return 0, fmt.Errorf("step: the step must not be 0")
			}
			steps := math.Floor(math.Abs(to-from)/step) + 1
			if from+(steps-1)*step*sign(to-from) != to {
				steps++ // Tank appends a last const(to, duration)
			}
			total += time.Duration(steps) * dur
		default:
			total += dur
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("the schedule is empty")
	}
	if total == 0 {
		return 0, fmt.Errorf("the schedule lasts 0 s")
	}
	return total, nil
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

// parseTankDuration parses a schedule duration: "90", "90s", "2m", "1h30m", "1d".
func parseTankDuration(s string) (time.Duration, error) {
	m := tankDurationRE.FindStringSubmatch(s)
	if s == "" || m == nil {
		return 0, fmt.Errorf("%q is not a duration like 90s, 2m or 1h30m (whole units d, h, m, s; no ms)", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if v := strings.TrimRight(m[i+1], "dhms"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return 0, fmt.Errorf("%q: %v", s, err)
			}
			d += time.Duration(n) * unit
		}
	}
	return d, nil
}

// tankDuration writes d in whole seconds as Tank reads it: "3m", "1h2m5s".
func tankDuration(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	var b strings.Builder
	for _, u := range []struct {
		secs int64
		unit string
	}{{3600, "h"}, {60, "m"}, {1, "s"}} {
		if s >= u.secs {
			fmt.Fprintf(&b, "%d%s", s/u.secs, u.unit)
			s %= u.secs
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// autostopArgs are the criteria `pghac loadtest` evaluates, with their argument counts (a last
// optional argument is Tank's case tag).
var autostopArgs = map[string][2]int{
	"http": {3, 4}, "net": {3, 4}, "quantile": {3, 4}, "time": {2, 3}, "limit": {1, 1},
}

// checkAutostop checks the shape of one autostop criterion; `pghac loadtest` checks the values.
func checkAutostop(s string) error {
	name, rest, ok := strings.Cut(s, "(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return fmt.Errorf("write a criterion like http(5xx,10%%,5s)")
	}
	n, ok := autostopArgs[name]
	if !ok {
		names := make([]string, 0, len(autostopArgs))
		for k := range autostopArgs {
			names = append(names, k)
		}
		sort.Strings(names)
		return fmt.Errorf("pghac loadtest evaluates %s", strings.Join(names, ", "))
	}
	args := strings.Split(strings.TrimSuffix(rest, ")"), ",")
	if len(args) < n[0] || len(args) > n[1] {
		return fmt.Errorf("%s takes %d arguments", name, n[0])
	}
	return nil
}
