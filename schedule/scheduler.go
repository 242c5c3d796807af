package schedule

import (
	"strings"
	"time"
)

// This file holds what EventBridge Scheduler adds to the expressions of
// scheduled rules: one-time schedules, at(yyyy-mm-ddThh:mm:ss), and the
// evaluation of every expression in a time zone
// (ScheduleExpressionTimezone). Both are described in "Schedule types on
// EventBridge Scheduler" (EventBridge Scheduler User Guide,
// https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
//
// Time zones and daylight saving time, as that page documents them:
//
//   - cron() fields are wall-clock times of the zone. When the clocks go
//     forward, a wall-clock time that does not exist that day is skipped
//     ("your schedule invocation gets skipped if the cron expression falls
//     on a non-existent date and time"); when they go back, a wall-clock
//     time that occurs twice fires once, at its first occurrence ("your
//     schedule runs only once and doesn't repeat its invocation").
//   - rate() is a fixed duration whatever the zone: rate(1 day) is 24
//     hours, so on a day of 23 or 25 hours its wall-clock time moves.
//   - at() is a wall-clock time of the zone; a time the clocks skip is
//     read as Go's time.Date reads it (shifted by the gap).

// AtMessage is the text of Scheduler's ValidationException for an
// expression that is none of at(), rate() and cron().
const AtMessage = "Invalid Schedule Expression"

// At is a parsed at(yyyy-mm-ddThh:mm:ss) expression: a wall-clock time,
// without a zone.
type At struct {
	Year              int
	Month             time.Month
	Day, Hour, Minute int
	Second            int
	expr              string
}

// String returns the expression as it was parsed.
func (a *At) String() string { return a.expr }

// In returns the instant of the wall-clock time in loc.
func (a *At) In(loc *time.Location) time.Time {
	return time.Date(a.Year, a.Month, a.Day, a.Hour, a.Minute, a.Second, 0, loc)
}

// Next returns the instant of a in UTC if it is after after, else the zero
// Time: a one-time schedule fires once.
func (a *At) Next(after time.Time) time.Time {
	t := a.In(time.UTC)
	if t.After(after) {
		return t
	}
	return time.Time{}
}

// ParseAt parses an at() expression. The date and time must be exactly
// yyyy-mm-ddThh:mm:ss, a real date (no 30 February). Any error is an
// *Error.
func ParseAt(expr string) (*At, error) {
	body, ok := inner(expr, "at")
	if !ok {
		return nil, invalid(expr, "not of the form at(...)")
	}
	if len(body) != len("2006-01-02T15:04:05") {
		return nil, invalid(expr, "at() takes yyyy-mm-ddThh:mm:ss")
	}
	t, err := time.Parse("2006-01-02T15:04:05", body)
	if err != nil {
		return nil, invalid(expr, "at() takes a valid yyyy-mm-ddThh:mm:ss")
	}
	if t.Year() < MinYear || t.Year() > MaxYear {
		return nil, invalid(expr, "at() year out of range")
	}
	return &At{Year: t.Year(), Month: t.Month(), Day: t.Day(), Hour: t.Hour(), Minute: t.Minute(), Second: t.Second(), expr: expr}, nil
}

// ParseScheduler parses a ScheduleExpression of EventBridge Scheduler:
// at(), rate() or cron(). The result is an *At, a *Rate or a *Cron. Any
// error is an *Error.
func ParseScheduler(expr string) (Schedule, error) {
	if strings.HasPrefix(expr, "at(") {
		a, err := ParseAt(expr)
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	return Parse(expr)
}

// NextIn returns the first fire time of c strictly after after, with the
// fields read as wall-clock times of loc (see the daylight saving rules
// above), or the zero Time if there is none. The result is in UTC.
func (c *Cron) NextIn(after time.Time, loc *time.Location) time.Time {
	if loc == nil || loc == time.UTC {
		return c.Next(after)
	}
	// The wall clock of after, written as if it were UTC: Next then walks
	// the fields of the zone's calendar.
	w := wall(after.In(loc))
	for i := 0; i < 10000; i++ {
		n := c.Next(w)
		if n.IsZero() {
			return time.Time{}
		}
		t := time.Date(n.Year(), n.Month(), n.Day(), n.Hour(), n.Minute(), 0, 0, loc)
		switch {
		case !wall(t).Equal(n):
			// A time the clocks skipped: no fire that day.
		case !t.After(after):
			// The second occurrence of a time the clocks repeated
			// (time.Date gives the first, already past): fired once.
		default:
			return t.UTC()
		}
		w = n
	}
	return time.Time{}
}

// wall returns t's wall-clock time in its location, as a UTC time.
func wall(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
