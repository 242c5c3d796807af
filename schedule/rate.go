package schedule

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Rate is a parsed rate(value unit) expression.
type Rate struct {
	Value int           // the positive count, as written
	Unit  time.Duration // time.Minute, time.Hour or 24*time.Hour
	expr  string
}

// ParseRate parses a rate() expression. Any error is an *Error.
func ParseRate(expr string) (*Rate, error) {
	body, ok := inner(expr, "rate")
	if !ok {
		return nil, invalid(expr, "not of the form rate(...)")
	}
	num, unit, ok := strings.Cut(body, " ")
	if !ok {
		return nil, invalid(expr, "rate needs a value and a unit separated by one space")
	}
	if num == "" || num[0] < '1' || num[0] > '9' {
		return nil, invalid(expr, "rate value must be a positive integer without sign or leading zeros")
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return nil, invalid(expr, "rate value must be a positive integer")
		}
	}
	var u time.Duration
	var singular bool
	switch unit {
	case "minute", "minutes":
		u = time.Minute
	case "hour", "hours":
		u = time.Hour
	case "day", "days":
		u = 24 * time.Hour
	default:
		return nil, invalid(expr, "rate unit must be minute(s), hour(s) or day(s)")
	}
	singular = !strings.HasSuffix(unit, "s")
	v, err := strconv.Atoi(num)
	if err != nil || int64(v) > int64(math.MaxInt64/u) {
		return nil, invalid(expr, "rate value too large")
	}
	if (v == 1) != singular {
		return nil, invalid(expr, "rate unit must be singular for 1 and plural otherwise")
	}
	return &Rate{Value: v, Unit: u, expr: expr}, nil
}

// Period returns the time between two fires.
func (r *Rate) Period() time.Duration { return time.Duration(r.Value) * r.Unit }

// String returns the expression as it was parsed.
func (r *Rate) String() string { return r.expr }

// Next returns NextFrom(Unix epoch, after): see the package documentation.
func (r *Rate) Next(after time.Time) time.Time {
	return r.NextFrom(time.Unix(0, 0), after)
}

// NextFrom returns the first fire time strictly after after, for a rate
// schedule anchored at anchor (the rule's creation time). The fire times are
// a+k*Period() for k >= 1, where a is anchor truncated to the minute; the
// anchor itself does not fire. The result is in UTC.
func (r *Rate) NextFrom(anchor, after time.Time) time.Time {
	// Fire times are whole minutes, so whole seconds suffice: with
	// s = floor(after), a whole-second time f is after `after` iff f > s.
	a := anchor.Unix()
	a -= ((a % 60) + 60) % 60
	p := int64(r.Period() / time.Second)
	s := after.Unix()
	k := int64(1)
	if s >= a {
		d := s - a
		if d < 0 { // overflow: times hundreds of billions of years apart
			return time.Time{}
		}
		k = d/p + 1
	}
	if k > (math.MaxInt64-max(a, 0))/p {
		return time.Time{}
	}
	return time.Unix(a+k*p, 0).UTC()
}
