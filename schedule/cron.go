package schedule

import (
	"math/bits"
	"strings"
	"time"
)

// MinYear and MaxYear bound the year field of a cron expression.
const (
	MinYear = 1970
	MaxYear = 2199
)

// dayKind says how a Cron picks the days of a month.
type dayKind uint8

const (
	domSet         dayKind = iota // day-of-month values (days bits 1..31); day-of-week is ?
	domLast                       // day-of-month L
	domLastWeekday                // day-of-month LW
	domNearest                    // day-of-month nW (n in arg)
	dowSet                        // day-of-week values (weekday bits 1..7, 1=SUN); day-of-month is ?
	dowLast                       // day-of-week dL (d in arg)
	dowNth                        // day-of-week d#k (d in arg, k in nth)
)

// Cron is a parsed cron() expression. It is immutable and safe for
// concurrent use.
type Cron struct {
	expr    string
	minutes uint64    // bit m for minute m
	hours   uint64    // bit h for hour h
	months  uint64    // bit m for month m (1..12)
	years   [4]uint64 // bit y-MinYear for year y
	kind    dayKind
	days    uint64 // domSet: bit d for day-of-month d; dowSet: bit w for weekday w (1=SUN)
	arg     int    // domNearest: the day; dowLast, dowNth: the weekday (1=SUN)
	nth     int    // dowNth: which occurrence, 1..5
}

// String returns the expression as it was parsed.
func (c *Cron) String() string { return c.expr }

// field describes one of the six cron fields.
type field struct {
	name     string
	min, max int
	maxStep  int // 0: / is not allowed
	digits   int // most digits a number may have
	names    []string
}

var (
	fMinute = field{name: "minutes", min: 0, max: 59, maxStep: 59, digits: 2}
	fHour   = field{name: "hours", min: 0, max: 23, maxStep: 23, digits: 2}
	fDom    = field{name: "day-of-month", min: 1, max: 31, maxStep: 31, digits: 2}
	fMonth  = field{name: "month", min: 1, max: 12, maxStep: 12, digits: 2,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	fDow = field{name: "day-of-week", min: 1, max: 7, maxStep: 0, digits: 1,
		names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
	fYear = field{name: "year", min: MinYear, max: MaxYear, maxStep: MaxYear - MinYear, digits: 4}
)

// set is a bit set over the values of a field, bit v-min for value v.
type set [4]uint64

func (s *set) add(i int) { s[i>>6] |= 1 << (i & 63) }

// ParseCron parses a cron() expression. Any error is an *Error.
func ParseCron(expr string) (*Cron, error) {
	body, ok := inner(expr, "cron")
	if !ok {
		return nil, invalid(expr, "not of the form cron(...)")
	}
	fs := strings.Split(body, " ")
	if len(fs) != 6 {
		return nil, invalid(expr, "cron needs six fields separated by single spaces")
	}
	c := &Cron{expr: expr}
	var s set
	var why string
	if s, why = fMinute.parse(fs[0]); why != "" {
		return nil, invalid(expr, why)
	}
	c.minutes = s[0]
	if s, why = fHour.parse(fs[1]); why != "" {
		return nil, invalid(expr, why)
	}
	c.hours = s[0]
	if s, why = fMonth.parse(fs[3]); why != "" {
		return nil, invalid(expr, why)
	}
	c.months = s[0] << 1
	if c.years, why = fYear.parse(fs[5]); why != "" {
		return nil, invalid(expr, why)
	}
	dom, dow := fs[2], fs[4]
	switch {
	case dom == "?" && dow == "?":
		return nil, invalid(expr, "day-of-month and day-of-week cannot both be ?")
	case dom != "?" && dow != "?":
		return nil, invalid(expr, "one of day-of-month and day-of-week must be ?")
	case dow == "?":
		why = c.parseDom(dom)
	default:
		why = c.parseDow(dow)
	}
	if why != "" {
		return nil, invalid(expr, why)
	}
	return c, nil
}

func (c *Cron) parseDom(s string) string {
	switch {
	case s == "L":
		c.kind = domLast
	case s == "LW":
		c.kind = domLastWeekday
	case strings.HasSuffix(s, "W"):
		n, ok := fDom.number(s[:len(s)-1])
		if !ok {
			return "day-of-month nW needs a day 1-31 before W"
		}
		c.kind, c.arg = domNearest, n
	default:
		v, why := fDom.parse(s)
		if why != "" {
			return why
		}
		c.kind, c.days = domSet, v[0]<<1
	}
	return ""
}

func (c *Cron) parseDow(s string) string {
	if s == "L" {
		c.kind, c.days = dowSet, 1<<7 // the last day of the week, Saturday
		return ""
	}
	if d, ok := strings.CutSuffix(s, "L"); ok {
		v, ok := fDow.value(d)
		if !ok {
			return "day-of-week dL needs a day 1-7 or SUN-SAT before L"
		}
		c.kind, c.arg = dowLast, v
		return ""
	}
	if d, k, ok := strings.Cut(s, "#"); ok {
		v, ok := fDow.value(d)
		if !ok {
			return "day-of-week d#k needs a day 1-7 or SUN-SAT before #"
		}
		if len(k) != 1 || k[0] < '1' || k[0] > '5' {
			return "day-of-week d#k needs an occurrence 1-5 after #"
		}
		c.kind, c.arg, c.nth = dowNth, v, int(k[0]-'0')
		return ""
	}
	v, why := fDow.parse(s)
	if why != "" {
		return why
	}
	c.kind, c.days = dowSet, v[0]<<1
	return ""
}

// parse parses a list of items (*, values, ranges, steps) into a set. It
// returns a reason when the field is not valid.
func (f *field) parse(s string) (set, string) {
	var out set
	for item := range strings.SplitSeq(s, ",") {
		base, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			if f.maxStep == 0 {
				return out, f.name + " does not allow /"
			}
			n, ok := digits(stepText, 3)
			if !ok || n < 1 || n > f.maxStep {
				return out, f.name + " has an invalid increment"
			}
			step = n
		}
		var lo, hi int
		if base == "*" {
			lo, hi = f.min, f.max
		} else if a, b, isRange := strings.Cut(base, "-"); isRange {
			var ok1, ok2 bool
			lo, ok1 = f.value(a)
			hi, ok2 = f.value(b)
			if !ok1 || !ok2 || f.isName(a) != f.isName(b) {
				return out, f.name + " has an invalid range"
			}
			if lo > hi && f.name == fYear.name {
				return out, "year range cannot wrap around"
			}
		} else {
			var ok bool
			lo, ok = f.value(base)
			if !ok {
				return out, f.name + " has an invalid value"
			}
			hi = lo
			if hasStep {
				hi = f.max
			}
		}
		if lo <= hi {
			for v := lo; v <= hi; v += step {
				out.add(v - f.min)
			}
		} else { // wraps around: lo..max, min..hi
			size := f.max - f.min + 1
			for i := lo; i <= hi+size; i += step {
				out.add((i - f.min) % size)
			}
		}
	}
	return out, ""
}

func (f *field) isName(s string) bool { return len(s) > 0 && s[0] >= 'A' && s[0] <= 'Z' }

// value parses one value: a number within the field's range or one of its
// names (upper case only).
func (f *field) value(s string) (int, bool) {
	if f.isName(s) {
		for i, n := range f.names {
			if s == n {
				return f.min + i, true
			}
		}
		return 0, false
	}
	return f.number(s)
}

func (f *field) number(s string) (int, bool) {
	n, ok := digits(s, f.digits)
	return n, ok && n >= f.min && n <= f.max
}

// digits parses 1 to max decimal digits.
func digits(s string, max int) (int, bool) {
	if len(s) == 0 || len(s) > max {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// nextBit returns the smallest set bit of m at or above from, or -1.
func nextBit(m uint64, from int) int {
	if from >= 64 {
		return -1
	}
	m >>= uint(from)
	if m == 0 {
		return -1
	}
	return from + bits.TrailingZeros64(m)
}

// nextYear returns the first year >= y in the year field, or -1.
func (c *Cron) nextYear(y int) int {
	if y < MinYear {
		y = MinYear
	}
	for i := y - MinYear; i <= MaxYear-MinYear; {
		w := c.years[i>>6] >> (i & 63)
		if w != 0 {
			return MinYear + i + bits.TrailingZeros64(w)
		}
		i = (i | 63) + 1
	}
	return -1
}

// Next returns the first fire time strictly after after, or the zero Time if
// there is none before the end of 2199. It jumps field by field (year,
// month, day, hour, minute), so its cost does not depend on how far away the
// next fire time is, beyond a few hundred years of month checks for
// expressions that rarely or never fire (such as 30 February).
func (c *Cron) Next(after time.Time) time.Time {
	t := after.UTC()
	var y, mo, d, h, mi int
	switch {
	case t.Year() > MaxYear:
		return time.Time{}
	case t.Year() < MinYear:
		y, mo, d, h, mi = MinYear, 1, 1, 0, 0
	default:
		t = t.Truncate(time.Minute).Add(time.Minute)
		var m time.Month
		y, m, d = t.Date()
		mo, h, mi = int(m), t.Hour(), t.Minute()
	}
	maskY, maskM := 0, 0 // the month whose day mask is in days
	var days uint64
	for {
		ny := c.nextYear(y)
		if ny < 0 {
			return time.Time{}
		}
		if ny != y {
			y, mo, d, h, mi = ny, 1, 1, 0, 0
		}
		nm := nextBit(c.months, mo)
		if nm < 0 {
			y, mo, d, h, mi = y+1, 1, 1, 0, 0
			continue
		}
		if nm != mo {
			mo, d, h, mi = nm, 1, 0, 0
		}
		if y != maskY || mo != maskM {
			days, maskY, maskM = c.dayMask(y, time.Month(mo)), y, mo
		}
		nd := nextBit(days, d)
		if nd < 0 {
			mo, d, h, mi = mo+1, 1, 0, 0
			continue
		}
		if nd != d {
			d, h, mi = nd, 0, 0
		}
		nh := nextBit(c.hours, h)
		if nh < 0 {
			d, h, mi = d+1, 0, 0
			continue
		}
		if nh != h {
			h, mi = nh, 0
		}
		nmi := nextBit(c.minutes, mi)
		if nmi < 0 {
			h, mi = h+1, 0
			continue
		}
		return time.Date(y, time.Month(mo), d, h, nmi, 0, 0, time.UTC)
	}
}

// daysIn returns the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// dayMask returns the days of month m of year y on which c fires: bit d for
// day d.
func (c *Cron) dayMask(y int, m time.Month) uint64 {
	last := daysIn(y, m)
	// w1 is the weekday of the 1st, 0 = Sunday; day d falls on (w1+d-1)%7.
	w1 := int(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Weekday())
	weekday := func(d int) int { return (w1 + d - 1) % 7 }
	// first returns the first day of the month on weekday w (1 = SUN).
	first := func(w int) int { return 1 + (w-1-w1+7)%7 }
	switch c.kind {
	case domSet:
		return c.days & (1<<(last+1) - 2)
	case domLast:
		return 1 << last
	case domLastWeekday:
		switch weekday(last) {
		case 6: // Saturday
			return 1 << (last - 1)
		case 0: // Sunday
			return 1 << (last - 2)
		}
		return 1 << last
	case domNearest:
		n := c.arg
		if n > last {
			return 0
		}
		switch weekday(n) {
		case 6: // Saturday: Friday, unless that is in the previous month
			if n == 1 {
				return 1 << 3
			}
			return 1 << (n - 1)
		case 0: // Sunday: Monday, unless that is in the next month
			if n == last {
				return 1 << (n - 2)
			}
			return 1 << (n + 1)
		}
		return 1 << n
	case dowSet:
		var out uint64
		for w := 1; w <= 7; w++ {
			if c.days&(1<<w) != 0 {
				for d := first(w); d <= last; d += 7 {
					out |= 1 << d
				}
			}
		}
		return out
	case dowLast:
		d := first(c.arg)
		return 1 << (d + 7*((last-d)/7))
	case dowNth:
		d := first(c.arg) + 7*(c.nth-1)
		if d > last {
			return 0
		}
		return 1 << d
	}
	return 0
}
