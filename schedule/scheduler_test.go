package schedule

import (
	"testing"
	"time"
)

func TestParseAt(t *testing.T) {
	for _, tc := range []struct {
		expr string
		ok   bool
		want time.Time
	}{
		{"at(2027-03-04T05:06:07)", true, time.Date(2027, 3, 4, 5, 6, 7, 0, time.UTC)},
		{"at(2024-02-29T00:00:00)", true, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"at(2023-02-29T00:00:00)", false, time.Time{}},
		{"at(2027-03-04T05:06)", false, time.Time{}},
		{"at(2027-03-04 05:06:07)", false, time.Time{}},
		{"at(2027-03-04T05:06:07Z)", false, time.Time{}},
		{"at(2027-3-04T05:06:07)", false, time.Time{}},
		{"at(2027-03-04T24:00:00)", false, time.Time{}},
		{"at()", false, time.Time{}},
		{"at(2027-03-04T05:06:07", false, time.Time{}},
		{"at(2300-01-01T00:00:00)", false, time.Time{}},
	} {
		s, err := ParseScheduler(tc.expr)
		if (err == nil) != tc.ok {
			t.Errorf("ParseScheduler(%q): err %v, want ok %v", tc.expr, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		a := s.(*At)
		if got := a.In(time.UTC); !got.Equal(tc.want) {
			t.Errorf("%q: %v, want %v", tc.expr, got, tc.want)
		}
		if !a.Next(tc.want.Add(-time.Second)).Equal(tc.want) || !a.Next(tc.want).IsZero() {
			t.Errorf("%q: Next does not fire exactly once", tc.expr)
		}
	}
}

func TestSchedulerAcceptsRuleExpressions(t *testing.T) {
	for _, e := range []string{"rate(5 minutes)", "cron(0 12 * * ? *)"} {
		if _, err := ParseScheduler(e); err != nil {
			t.Errorf("%q: %v", e, err)
		}
	}
	if _, err := ParseScheduler("every(5 minutes)"); err == nil {
		t.Error("every() accepted")
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no tzdata for %s: %v", name, err)
	}
	return l
}

// TestCronInZone walks cron schedules across the daylight saving changes of
// 2026 in New York (clocks forward 8 March 02:00, back 1 November 02:00)
// and checks AWS's documented behaviour: a skipped wall-clock time does not
// fire, a repeated one fires once.
func TestCronInZone(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	for _, tc := range []struct {
		name, expr string
		from       time.Time
		want       []string // fire times, RFC 3339 in the zone
	}{
		{"daily 09:00 across spring forward", "cron(0 9 * * ? *)", time.Date(2026, 3, 7, 0, 0, 0, 0, ny),
			[]string{"2026-03-07T09:00:00-05:00", "2026-03-08T09:00:00-04:00", "2026-03-09T09:00:00-04:00"}},
		{"02:30 skipped on the spring-forward day", "cron(30 2 * * ? *)", time.Date(2026, 3, 7, 0, 0, 0, 0, ny),
			[]string{"2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00"}},
		{"01:30 once on the fall-back day", "cron(30 1 * * ? *)", time.Date(2026, 10, 31, 0, 0, 0, 0, ny),
			[]string{"2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"every 30 minutes through the repeated hour", "cron(0/30 * * * ? *)", time.Date(2026, 11, 1, 0, 45, 0, 0, ny),
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00"}},
		{"every 30 minutes through the skipped hour", "cron(0/30 * * * ? *)", time.Date(2026, 3, 8, 1, 15, 0, 0, ny),
			[]string{"2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCron(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			at := tc.from
			for i, w := range tc.want {
				n := c.NextIn(at, ny)
				if got := n.In(ny).Format(time.RFC3339); got != w {
					t.Fatalf("fire %d: %s, want %s", i, got, w)
				}
				if n.Location() != time.UTC {
					t.Fatalf("fire %d not in UTC", i)
				}
				at = n
			}
		})
	}
}

func TestCronInZoneUTC(t *testing.T) {
	c, _ := ParseCron("cron(15 10 * * ? *)")
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	if got, want := c.NextIn(from, nil), c.Next(from); !got.Equal(want) {
		t.Fatalf("nil zone: %v, want %v", got, want)
	}
	tokyo := mustLoc(t, "Asia/Tokyo")
	if got, want := c.NextIn(from, tokyo), time.Date(2026, 6, 1, 1, 15, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("Tokyo: %v, want %v", got, want)
	}
}

// FuzzNextIn feeds arbitrary expressions and zones to ParseScheduler and
// NextIn: no panic, and fire times in a zone strictly increase and are
// fire times of the expression's wall clock.
func FuzzNextIn(f *testing.F) {
	for _, s := range []string{"cron(30 2 * * ? *)", "cron(0/30 * * * ? *)", "at(2026-11-01T01:30:00)", "cron(0 0 ? * 1#5 *)", "rate(1 day)"} {
		f.Add(s, "America/New_York", int64(1772870400))
	}
	f.Add("cron(0 0 29 2 ? *)", "Australia/Lord_Howe", int64(0))
	f.Fuzz(func(t *testing.T, expr, zone string, from int64) {
		s, err := ParseScheduler(expr)
		if err != nil {
			return
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return
		}
		c, ok := s.(*Cron)
		if !ok {
			return
		}
		at := time.Unix(from%(300*366*86400), 0)
		for i := 0; i < 5; i++ {
			n := c.NextIn(at, loc)
			if n.IsZero() {
				return
			}
			if !n.After(at) {
				t.Fatalf("%q in %s: %v not after %v", expr, zone, n, at)
			}
			w := wall(n.In(loc))
			if got := c.Next(w.Add(-time.Minute)); !got.Equal(w) {
				t.Fatalf("%q in %s: %v (wall %v) is not a fire time of the wall clock (next is %v)", expr, zone, n, w, got)
			}
			at = n
		}
	})
}
