package load

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// tally is what was seen of a set of results: counts by HTTP code, network errors by errno
// and kind, and every latency (µs), so that quantiles are exact.
type tally struct {
	n        int         // results: responses and network errors (not requests aborted at the stop)
	codes    map[int]int // HTTP code -> responses
	netCodes map[int]int // errno -> network errors
	netKinds [numNetKinds]int
	lats     []uint32 // µs; sorted lazily
	sorted   bool
	latSum   time.Duration
}

func (t *tally) add(code, errno int, kind netKind, lat time.Duration) {
	t.n++
	if code > 0 {
		if t.codes == nil {
			t.codes = map[int]int{}
		}
		t.codes[code]++
	} else {
		if t.netCodes == nil {
			t.netCodes = map[int]int{}
		}
		t.netCodes[errno]++
		t.netKinds[kind]++
	}
	t.lats = append(t.lats, toMicros(lat))
	t.sorted = false
	t.latSum += lat
}

func toMicros(d time.Duration) uint32 {
	us := d / time.Microsecond
	if us < 0 {
		return 0
	}
	if us > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(us)
}

// quantile is the q-quantile (0 < q <= 1) of the latencies by nearest rank: the smallest
// latency that at least q of them do not exceed. 0 when there are none.
func (t *tally) quantile(q float64) time.Duration {
	if len(t.lats) == 0 {
		return 0
	}
	if !t.sorted {
		slices.Sort(t.lats)
		t.sorted = true
	}
	i := int(math.Ceil(q*float64(len(t.lats)))) - 1
	i = min(max(i, 0), len(t.lats)-1)
	return time.Duration(t.lats[i]) * time.Microsecond
}

func (t *tally) mean() time.Duration {
	if len(t.lats) == 0 {
		return 0
	}
	return t.latSum / time.Duration(len(t.lats))
}

func (t *tally) netErrors() int {
	n := 0
	for _, k := range t.netKinds {
		n += k
	}
	return n
}

// second is everything seen of the requests sent in one second of the test.
type second struct {
	all     tally
	tags    map[string]*tally
	aborted int // cut off when the test stopped: neither a response nor an error of the target
	active  int // most requests in flight at once
	closed  bool
	latency Latency // of all, computed when the second closed; its latencies are then dropped
}

func (s *second) tag(name string) *tally {
	if s.tags == nil {
		s.tags = map[string]*tally{}
	}
	t := s.tags[name]
	if t == nil {
		t = &tally{}
		s.tags[name] = t
	}
	return t
}

// netKind is a coarse class of network error, for the report.
type netKind int

const (
	netTimeout netKind = iota
	netRefused
	netReset
	netOther
	numNetKinds
)

var netKindNames = [numNetKinds]string{"timeout", "refused", "reset", "other"}

// histogram counts durations in log-linear buckets, as HdrHistogram does with two
// significant digits: values below 128 µs exactly, larger ones within 1/64 (1.6%) of their
// value, in 2 KiB whatever the count. The test-wide and per-tag quantiles come from it;
// per-second ones are exact.
type histogram struct {
	counts []uint64
	n      uint64
	max    uint64 // µs, exact
	sum    uint64 // µs
}

const histSub = 64 // buckets per power of two above 128

func histIndex(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	e := bits.Len64(v) - 7 // v >> e is in [64, 128)
	return 2*histSub + (e-1)*histSub + int(v>>e) - histSub
}

// histValue is the middle of bucket i, in µs.
func histValue(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	j := i - 2*histSub
	e := j/histSub + 1
	m := uint64(j%histSub + histSub)
	return m<<e + (uint64(1)<<e)/2
}

func (h *histogram) add(d time.Duration) {
	v := uint64(toMicros(d))
	i := histIndex(v)
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]uint64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
	h.sum += v
	h.max = max(h.max, v)
}

// quantile is the q-quantile by nearest rank, within the bucket precision; the maximum is
// exact.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	if rank >= h.n {
		return time.Duration(h.max) * time.Microsecond
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(histValue(i), h.max)) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/h.n) * time.Microsecond
}
