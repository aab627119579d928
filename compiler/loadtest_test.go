package compiler

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		// Valid per Tank's own validator tests.
		{in: "step(10,200,5,180)", want: 39 * 180 * time.Second},
		{in: "step(5,50,2.5,5m)", want: 19 * 5 * time.Minute},
		{in: "line(22,154,2h5m)", want: 2*time.Hour + 5*time.Minute},
		{in: "const(10,1h4m3s)", want: time.Hour + 4*time.Minute + 3*time.Second},
		{in: "const(2.5,150)", want: 150 * time.Second},
		{in: "const(100, 1d2h)", want: 26 * time.Hour},
		{in: "line(10, 120, 300s)", want: 300 * time.Second},
		{in: "line(1, 10, 10m) const(10, 10m)", want: 20 * time.Minute},
		{in: "line(1, 10, 10m)\nconst(10, 10m)", want: 20 * time.Minute},
		// step lands past `to`: Tank appends a last const(to, duration).
		{in: "step(10, 25, 10, 1m)", want: 3 * time.Minute},
		{in: "step(50, 10, 20, 1m)", want: 3 * time.Minute},
		{in: "step(50, 15, 20, 1m)", want: 3 * time.Minute},
		// Invalid per the same tests.
		{in: "step(10,5,180)", err: "step takes 4 arguments, not 3"},
		{in: "lien(1,10,1m)", err: `unknown segment "lien"`},
		{in: "const(10,1.5h)", err: `"1.5h" is not a duration`},
		{in: "const(10,1m,3)", err: "const takes 2 arguments, not 3"},
		{in: "const(10,1m", err: "is not a segment"},
		{in: "const(x,1m)", err: `"x" is not a rate`},
		{in: "step(1,10,0,1m)", err: "the step must not be 0"},
		{in: "const(10,0)", err: "lasts 0 s"},
		{in: "", err: "the schedule is empty"},
		{in: "10 rps", err: "is not a segment"},
	} {
		got, err := scheduleDuration(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("scheduleDuration(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("scheduleDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestTankDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		3 * time.Minute: "3m", 61 * time.Second: "1m1s", time.Hour + 5*time.Second: "1h5s", 1500 * time.Millisecond: "2s", 0: "0s",
	} {
		if got := tankDuration(d); got != want {
			t.Errorf("tankDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
