package schedule

import (
	"fmt"
	"time"
)

// ref is the reference form of a cron expression: plain membership tables
// and the day rule, read by matches, an evaluator written to be obviously
// correct rather than fast. It shares no code with Cron.Next.
type ref struct {
	minutes [60]bool
	hours   [24]bool
	months  [13]bool          // 1..12
	years   [MaxYear + 1]bool // MinYear..MaxYear
	kind    dayKind           // which day rule
	dom     [32]bool          // domSet: 1..31
	dow     [8]bool           // dowSet: 1..7, 1 = Sunday
	arg     int               // domNearest: day; dowLast, dowNth: weekday 1..7
	nth     int               // dowNth: occurrence
}

// refFromCron reads a parsed Cron's tables into a ref, bit by bit.
func refFromCron(c *Cron) *ref {
	r := &ref{kind: c.kind, arg: c.arg, nth: c.nth}
	for i := range 60 {
		r.minutes[i] = c.minutes&(1<<i) != 0
	}
	for i := range 24 {
		r.hours[i] = c.hours&(1<<i) != 0
	}
	for i := 1; i <= 12; i++ {
		r.months[i] = c.months&(1<<i) != 0
	}
	for y := MinYear; y <= MaxYear; y++ {
		i := y - MinYear
		r.years[y] = c.years[i/64]&(1<<(i%64)) != 0
	}
	switch c.kind {
	case domSet:
		for d := 1; d <= 31; d++ {
			r.dom[d] = c.days&(1<<d) != 0
		}
	case dowSet:
		for w := 1; w <= 7; w++ {
			r.dow[w] = c.days&(1<<w) != 0
		}
	}
	return r
}

// lastDayOf uses the time package's normalisation: day 0 of the next month.
func lastDayOf(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

func isWeekday(y int, m time.Month, d int) bool {
	w := time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()
	return w != time.Saturday && w != time.Sunday
}

// dayMatches reports whether the rule picks day d of month m of year y,
// straight from the definitions.
func (r *ref) dayMatches(y int, m time.Month, d int) bool {
	last := lastDayOf(y, m)
	wd := int(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()) + 1 // 1 = Sunday
	switch r.kind {
	case domSet:
		return r.dom[d]
	case domLast:
		return d == last
	case domLastWeekday: // a weekday, and no later weekday in the month
		if !isWeekday(y, m, d) {
			return false
		}
		for e := d + 1; e <= last; e++ {
			if isWeekday(y, m, e) {
				return false
			}
		}
		return true
	case domNearest: // the weekday of the month closest to day arg
		if r.arg > last {
			return false
		}
		best, bestDist := 0, 99
		for e := 1; e <= last; e++ {
			dist := max(e-r.arg, r.arg-e)
			if isWeekday(y, m, e) && dist < bestDist {
				best, bestDist = e, dist
			}
		}
		return d == best
	case dowSet:
		return r.dow[wd]
	case dowLast: // the right weekday, and a week later is next month
		return wd == r.arg && d+7 > last
	case dowNth: // the right weekday, and the nth of them
		return wd == r.arg && (d-1)/7+1 == r.nth
	}
	panic(fmt.Sprint("kind ", r.kind))
}

// matches reports whether the schedule fires at minute t (UTC).
func (r *ref) matches(t time.Time) bool {
	t = t.UTC()
	y, m, d := t.Date()
	return t.Second() == 0 && t.Nanosecond() == 0 &&
		y >= MinYear && y <= MaxYear && r.years[y] &&
		r.months[m] && r.dayMatches(y, m, d) &&
		r.hours[t.Hour()] && r.minutes[t.Minute()]
}

// bruteForce lists the fire times in (from, to], walking minute by minute.
// It skips a whole day when the day cannot match and a whole hour when the
// hour cannot, which matches() would refuse minute by minute anyway. It
// stops after limit fire times; full reports whether it reached to.
func (r *ref) bruteForce(from, to time.Time, limit int) (fires []time.Time, full bool) {
	t := from.UTC().Truncate(time.Minute).Add(time.Minute)
	for !t.After(to) {
		y, m, d := t.Date()
		if y < MinYear || y > MaxYear || !r.years[y] || !r.months[m] || !r.dayMatches(y, m, d) {
			t = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !r.hours[t.Hour()] {
			t = t.Truncate(time.Hour).Add(time.Hour)
			continue
		}
		if r.matches(t) {
			if len(fires) == limit {
				return fires, false
			}
			fires = append(fires, t)
		}
		t = t.Add(time.Minute)
	}
	return fires, true
}
