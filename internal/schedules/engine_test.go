package schedules

import (
	"testing"
	"time"
)

func mustTiming(t *testing.T, sc *Schedule) *timing {
	t.Helper()
	if sc.Arn == "" {
		sc.Arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/s"
	}
	tm, err := timingOf(sc, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

// TestTimingNext walks the occurrences of schedules as the engine computes
// them: rate() from creation or StartDate, cron() within StartDate and
// EndDate and in a zone, at() once in its zone.
func TestTimingNext(t *testing.T) {
	created := ts("2026-03-07T10:20:30Z")
	for _, tc := range []struct {
		name string
		sc   Schedule
		want []string
		done bool // no occurrence after want
	}{
		{"rate starts at creation", Schedule{ScheduleExpression: "rate(5 minutes)"},
			[]string{"2026-03-07T10:20:00Z", "2026-03-07T10:25:00Z", "2026-03-07T10:30:00Z"}, false},
		{"rate from StartDate", Schedule{ScheduleExpression: "rate(2 hours)", StartDate: &Time{ts("2026-03-08T00:00:00Z")}},
			[]string{"2026-03-08T00:00:00Z", "2026-03-08T02:00:00Z"}, false},
		{"rate days are 24 hours across DST", Schedule{ScheduleExpression: "rate(1 day)", ScheduleExpressionTimezone: ptr("America/New_York"),
			StartDate: &Time{ts("2026-03-07T14:00:00Z")}},
			[]string{"2026-03-07T14:00:00Z", "2026-03-08T14:00:00Z", "2026-03-09T14:00:00Z"}, false},
		{"rate until EndDate", Schedule{ScheduleExpression: "rate(10 minutes)", EndDate: &Time{ts("2026-03-07T10:35:00Z")}},
			[]string{"2026-03-07T10:20:00Z", "2026-03-07T10:30:00Z"}, true},
		{"cron in zone", Schedule{ScheduleExpression: "cron(30 2 * * ? *)", ScheduleExpressionTimezone: ptr("America/New_York")},
			[]string{"2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}, false}, // 8 March 02:30 does not exist there
		{"cron from StartDate", Schedule{ScheduleExpression: "cron(0 12 * * ? *)", StartDate: &Time{ts("2026-04-01T00:00:00Z")}},
			[]string{"2026-04-01T12:00:00Z", "2026-04-02T12:00:00Z"}, false},
		{"at in zone, once", Schedule{ScheduleExpression: "at(2026-03-07T18:00:00)", ScheduleExpressionTimezone: ptr("Asia/Tokyo")},
			nil, true},
		{"at later today in zone", Schedule{ScheduleExpression: "at(2026-03-08T09:00:00)", ScheduleExpressionTimezone: ptr("Asia/Tokyo"),
			EndDate: &Time{ts("2026-03-07T11:00:00Z")}}, // EndDate is ignored for one-time schedules
			[]string{"2026-03-08T00:00:00Z"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := tc.sc
			sc.State, sc.CreationDate, sc.LastModificationDate = "ENABLED", Time{created}, Time{created}
			tm := mustTiming(t, &sc)
			at := tm.from
			for i, w := range tc.want {
				n := tm.next(at)
				if !n.Equal(ts(w)) {
					t.Fatalf("occurrence %d: %v, want %s", i, n, w)
				}
				at = n
			}
			if n := tm.next(at); tc.done && !n.IsZero() {
				t.Fatalf("an occurrence after the last: %v", n)
			}
		})
	}
}

// TestFlexibleOffset: an occurrence's delay is within the window, the same
// in every process, and spreads schedules over the window.
func TestFlexibleOffset(t *testing.T) {
	tick := ts("2026-03-07T10:00:00Z")
	seen := map[time.Duration]bool{}
	for i := range 200 {
		sc := Schedule{Arn: "arn:aws:scheduler:us-east-1:123456789012:schedule/default/s" + itoa(i), ScheduleExpression: "rate(1 hour)", State: "ENABLED",
			FlexibleTimeWindow: FlexibleTimeWindow{Mode: "FLEXIBLE", MaximumWindowInMinutes: ptr(15)}}
		tm := mustTiming(t, &sc)
		o := tm.offset(tick)
		if o < 0 || o >= 15*time.Minute || o != tm.offset(tick) {
			t.Fatalf("offset %v", o)
		}
		seen[o/time.Minute] = true
	}
	if len(seen) < 12 {
		t.Fatalf("200 schedules fell in %d of the window's 15 minutes", len(seen))
	}
	off := Schedule{Arn: "a", ScheduleExpression: "rate(1 hour)", FlexibleTimeWindow: FlexibleTimeWindow{Mode: "OFF"}}
	if o := mustTiming(t, &off).offset(tick); o != 0 {
		t.Fatalf("Mode OFF offset %v", o)
	}
}

func TestTimeJSON(t *testing.T) {
	for in, want := range map[string]string{
		`1700000000`:                  "2023-11-14T22:13:20Z",
		`1700000000.5`:                "2023-11-14T22:13:20.5Z",
		`"2023-11-14T22:13:20.25Z"`:   "2023-11-14T22:13:20.25Z",
		`"2023-11-14T23:13:20+01:00"`: "2023-11-14T22:13:20Z",
	} {
		var tm Time
		if err := tm.UnmarshalJSON([]byte(in)); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := tm.Format(time.RFC3339Nano); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{`"yesterday"`, `1e300`, `NaN`, `true`, `""`} {
		var tm Time
		if err := tm.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s accepted as %v", bad, tm)
		}
	}
	b, _ := Time{ts("2023-11-14T22:13:20Z").Add(250 * time.Millisecond)}.MarshalJSON()
	if string(b) != "1700000000.25" {
		t.Errorf("marshal: %s", b)
	}
}
