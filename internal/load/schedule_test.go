package load

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseScheduleValid(t *testing.T) {
	tests := []struct {
		text     string
		duration time.Duration
		hits     int64
		segs     int
	}{
		// The validator's examples (yandextank/validator/validator.py) and the reference's.
		{"step(10,200,5,180)", 39 * 180 * time.Second, 180 * 39 * (10 + 200) / 2, 39},
		{"step(5,50,2.5,5m)", 19 * 5 * time.Minute, 300 * 19 * 55 / 2, 19},
		{"line(22,154,2h5m)", 2*time.Hour + 5*time.Minute, (22 + 154) / 2 * 7500, 1},
		{"step(5,50,2.5,5m) line(22,154,2h5m)", 95*time.Minute + 125*time.Minute, 300*19*55/2 + 88*7500, 20},
		{"const(10,1h4m3s)", time.Hour + 4*time.Minute + 3*time.Second, 10 * 3843, 1},
		{"const(2.5,150)", 150 * time.Second, 375, 1},
		{"const(100, 1d2h)", 26 * time.Hour, 100 * 26 * 3600, 1},
		{"line(10, 120, 300s)", 300 * time.Second, 65 * 300, 1},
		{"line(1, 10, 1m)", time.Minute, 330, 1},
		{"line(1, 10, 10m) const(10, 10m)", 20 * time.Minute, 3300 + 6000, 2},
		{"line(1, 10, 10m)\nconst(10, 10m)\n", 20 * time.Minute, 3300 + 6000, 2},
		{"line(1,10,1m)const(10,1m)", 2 * time.Minute, 330 + 600, 2},
		{"const (10, 5m)", 5 * time.Minute, 3000, 1},
		{"const(0, 10) const(5, 2)", 12 * time.Second, 10, 2},
		{"line(10, 500, 2m)", 2 * time.Minute, 255 * 120, 1},
		{"line(500, 10, 2m)", 2 * time.Minute, 255 * 120, 1},
		{"const(50, 3s)", 3 * time.Second, 150, 1},
		{"const(0.1, 30)", 30 * time.Second, 3, 1},
		// Stairs that do not land on `to` get a last step at `to`; downward stairs too.
		{"step(10, 25, 10, 1)", 3 * time.Second, 10 + 20 + 25, 3},
		{"step(50, 15, 20, 1)", 3 * time.Second, 50 + 30 + 15, 3},
		{"step(50, 10, 20, 1)", 3 * time.Second, 50 + 30 + 10, 3},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			s, err := ParseSchedule(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if s.Duration() != tt.duration {
				t.Errorf("Duration() = %s, want %s", s.Duration(), tt.duration)
			}
			if s.Hits() != tt.hits {
				t.Errorf("Hits() = %d, want %d", s.Hits(), tt.hits)
			}
			if len(s.segs) != tt.segs {
				t.Errorf("%d segments, want %d", len(s.segs), tt.segs)
			}
			// Hit times increase and stay within the schedule.
			var prev time.Duration
			for n := int64(0); n < s.Hits(); n += max(s.Hits()/5000, 1) {
				at := s.HitTime(n)
				if at < prev || at >= s.Duration() {
					t.Fatalf("HitTime(%d) = %s after %s (duration %s)", n, at, prev, s.Duration())
				}
				prev = at
			}
		})
	}
}

func TestParseScheduleInvalid(t *testing.T) {
	tests := []struct{ text, want string }{
		{"line(1,2)", `schedule "line(1,2)": line takes 3 arguments (from, to, duration)`},
		{"step(10,5,180)", `schedule "step(10,5,180)": step takes 4 arguments (from, to, step, duration)`},
		{"const(10,5m,1)", `const takes 2 arguments (rps, duration)`},
		{"lien(1,10,1m)", `unknown segment "lien"`},
		{"const(10,1.5h)", `const: duration "1.5h" is not a schedule duration`},
		{"const(10, 500ms)", `duration "500ms" is not a schedule duration`},
		{"const(10, 5m30)", ``}, // valid: trailing bare seconds
		{"const(10, 30s5m)", `duration "30s5m" is not a schedule duration`},
		{"const(10, )", `duration "" is not a schedule duration`},
		{"const(-1, 5)", `const: rps "-1" is not a non-negative number`},
		{"line(a, 10, 5)", `line: from "a" is not a non-negative number`},
		{"const(10, 5m", `"const(10," has no closing parenthesis`},
		{"", `schedule "": empty`},
		{"   ", `schedule "": empty`},
		{"line(1,10,1m), const(10,1m)", `unexpected ","`},
		{"line(1,10,0)", `line: duration must be more than 0`},
		{"step(10,20,0,1m)", `step: step must be more than 0`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, err := ParseSchedule(tt.text)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestScheduleTimes(t *testing.T) {
	near := func(t *testing.T, what string, got, want time.Duration) {
		t.Helper()
		if d := got - want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%s = %s, want %s", what, got, want)
		}
	}
	c, _ := ParseSchedule("const(50, 3s)")
	for _, n := range []int64{0, 1, 49, 50, 149} {
		near(t, "const HitTime", c.HitTime(n), time.Duration(n)*20*time.Millisecond)
	}
	if got := c.HitsBefore(time.Second); got != 50 {
		t.Errorf("HitsBefore(1s) = %d, want 50", got)
	}
	if got := c.HitsBefore(time.Second + time.Nanosecond); got != 51 {
		t.Errorf("HitsBefore(1s+1ns) = %d, want 51", got)
	}

	// line(0, 10, 10s): rate t, integral t²/2: hit n at sqrt(2n).
	up, _ := ParseSchedule("line(0, 10, 10s)")
	if up.Hits() != 50 {
		t.Fatalf("Hits() = %d, want 50", up.Hits())
	}
	for _, n := range []int64{1, 2, 8, 49} {
		near(t, "ramp up HitTime", up.HitTime(n), time.Duration(math.Sqrt(2*float64(n))*1e9))
	}
	// line(10, 0, 10s): integral 10t - t²/2: hit n at 10 - sqrt(100-2n).
	down, _ := ParseSchedule("line(10, 0, 10s)")
	for _, n := range []int64{1, 25, 49} {
		near(t, "ramp down HitTime", down.HitTime(n), time.Duration((10-math.Sqrt(100-2*float64(n)))*1e9))
	}
	if r := up.Rate(5 * time.Second); math.Abs(r-5) > 1e-9 {
		t.Errorf("Rate(5s) = %g, want 5", r)
	}

	// Segments follow each other: the second starts when the first ends.
	seq, _ := ParseSchedule("line(1, 10, 1m) const(10, 1m)")
	near(t, "second segment's first hit", seq.HitTime(330), time.Minute)
	near(t, "second segment's second hit", seq.HitTime(331), time.Minute+100*time.Millisecond)
	if r := seq.Rate(time.Minute); r != 10 {
		t.Errorf("Rate at the boundary = %g, want the second segment's 10", r)
	}
	if r := seq.Rate(2 * time.Minute); r != 0 {
		t.Errorf("Rate after the end = %g, want 0", r)
	}
	// A pause sends nothing: hits resume after it.
	pause, _ := ParseSchedule("const(10, 1) const(0, 5) const(10, 1)")
	near(t, "first hit after the pause", pause.HitTime(10), 6*time.Second)
	if got := pause.HitsBefore(6 * time.Second); got != 10 {
		t.Errorf("HitsBefore(6s) = %d, want 10", got)
	}
}
