package schedule

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

// gen builds random valid cron expressions together with their reference
// model. The model is computed from the generator's own choices with a
// closed-form membership rule, not by the parser, so comparing the two
// checks the parser, and the brute force over the model checks Next.
type gen struct {
	rng *rand.Rand
}

// member is the closed form of "lo-hi/step" on the cyclic field [min,max]:
// v is selected when it is reached from lo by whole steps without passing
// hi, going round past max back to min if hi < lo.
func member(f field, lo, hi, step, v int) bool {
	size := f.max - f.min + 1
	dist := (v - lo + size) % size
	span := (hi - lo + size) % size
	return dist <= span && dist%step == 0
}

func (g *gen) pick(lo, hi int) int { return lo + g.rng.IntN(hi-lo+1) }

// text renders value v of field f, as a name when names is true, else as a
// number, sometimes with a leading zero.
func (g *gen) text(f field, v int, names bool) string {
	if names {
		return f.names[v-f.min]
	}
	if f.digits == 2 && v < 10 && g.rng.IntN(4) == 0 {
		return fmt.Sprintf("0%d", v)
	}
	return fmt.Sprint(v)
}

// field generates a list for f whose values lie around [lo, hi] (a hint
// for where they should fall), returning the text and the selected values.
func (g *gen) field(f field, lo, hi int, allowStep bool) (string, []bool) {
	sel := make([]bool, f.max+1)
	var items []string
	n := 1
	if g.rng.IntN(3) == 0 {
		n = g.pick(2, 4)
	}
	for range n {
		kind := g.rng.IntN(6)
		if !allowStep && kind >= 3 {
			kind = g.rng.IntN(3)
		}
		names := f.names != nil && g.rng.IntN(2) == 0
		step := 1
		if kind >= 3 {
			step = g.pick(1, min(f.maxStep, 15))
			if g.rng.IntN(8) == 0 {
				step = g.pick(1, f.maxStep)
			}
		}
		a, b := g.pick(lo, hi), g.pick(lo, hi)
		if f.name == fYear.name && a > b {
			a, b = b, a
		}
		var text string
		var from, to int
		switch kind {
		case 0:
			text, from, to = "*", f.min, f.max
		case 1:
			text, from, to = g.text(f, a, names), a, a
		case 2:
			text, from, to = g.text(f, a, names)+"-"+g.text(f, b, names), a, b
		case 3:
			text, from, to = fmt.Sprintf("*/%d", step), f.min, f.max
		case 4:
			text, from, to = fmt.Sprintf("%s/%d", g.text(f, a, names), step), a, f.max
		case 5:
			text, from, to = fmt.Sprintf("%s-%s/%d", g.text(f, a, names), g.text(f, b, names), step), a, b
		}
		items = append(items, text)
		for v := f.min; v <= f.max; v++ {
			if member(f, from, to, step, v) {
				sel[v] = true
			}
		}
	}
	return strings.Join(items, ","), sel
}

// cron returns a random valid expression whose years include around.
func (g *gen) cron(around int) (string, *ref) {
	r := &ref{}
	var f [6]string
	var sel []bool

	// Minutes and hours: sometimes dense, sometimes sparse.
	f[0], sel = g.field(fMinute, 0, 59, true)
	copy(r.minutes[:], sel)
	f[1], sel = g.field(fHour, 0, 23, true)
	copy(r.hours[:], sel)
	f[3], sel = g.field(fMonth, 1, 12, true)
	copy(r.months[:], sel)
	if g.rng.IntN(3) == 0 {
		f[5], sel = g.field(fYear, max(MinYear, around-2), min(MaxYear, around+3), true)
		copy(r.years[:], sel)
	} else {
		f[5] = "*"
		for y := MinYear; y <= MaxYear; y++ {
			r.years[y] = true
		}
	}

	f[2], f[4] = "?", "?"
	dowText := func() (string, int) {
		w := g.pick(1, 7)
		if g.rng.IntN(2) == 0 {
			return fDow.names[w-1], w
		}
		return fmt.Sprint(w), w
	}
	switch k := g.rng.IntN(100); {
	case k < 35:
		r.kind = domSet
		lo, hi := 1, 31
		if g.rng.IntN(2) == 0 { // favour month ends
			lo = 27
		}
		f[2], sel = g.field(fDom, lo, hi, true)
		copy(r.dom[:], sel)
	case k < 43:
		r.kind, f[2] = domLast, "L"
	case k < 51:
		r.kind, f[2] = domLastWeekday, "LW"
	case k < 63:
		r.kind = domNearest
		r.arg = g.pick(1, 31)
		if g.rng.IntN(2) == 0 {
			r.arg = []int{1, 2, 28, 29, 30, 31}[g.rng.IntN(6)]
		}
		f[2] = g.text(fDom, r.arg, false) + "W"
	case k < 80:
		r.kind = dowSet
		if g.rng.IntN(6) == 0 {
			f[4], r.dow[7] = "L", true
		} else {
			f[4], sel = g.field(fDow, 1, 7, false)
			copy(r.dow[:], sel)
		}
	case k < 90:
		r.kind = dowLast
		f[4], r.arg = dowText()
		f[4] += "L"
	default:
		r.kind = dowNth
		f[4], r.arg = dowText()
		r.nth = g.pick(1, 5)
		f[4] += fmt.Sprintf("#%d", r.nth)
	}
	return "cron(" + strings.Join(f[:], " ") + ")", r
}

// start returns a random start time, often just before the end of a month
// or of February in a leap year.
func (g *gen) start() time.Time {
	y := g.pick(MinYear, MaxYear-2)
	switch g.rng.IntN(4) {
	case 0: // late February of a leap year (or 2100, which is not one)
		y = []int{1972, 2000, 2024, 2096, 2100, 2104, 2196}[g.rng.IntN(7)]
		return time.Date(y, 2, g.pick(25, 28), g.pick(0, 23), g.pick(0, 59), g.pick(0, 59), 0, time.UTC)
	case 1: // the end of some month
		m := time.Month(g.pick(1, 12))
		return time.Date(y, m+1, 0, 23, g.pick(0, 59), 0, 0, time.UTC).Add(-time.Duration(g.pick(0, 3*24*60)) * time.Minute)
	}
	return time.Date(y, time.Month(g.pick(1, 12)), g.pick(1, 28), g.pick(0, 23), g.pick(0, 59), g.pick(0, 59), g.rng.IntN(1e9), time.UTC)
}

// checkAgainst compares s.Next with the brute-force fire times of r over
// (from, to]: the chain of Next calls must visit exactly those times, and
// Next from random instants must land on the first fire after them.
func checkAgainst(t testing.TB, expr string, s Schedule, r *ref, from, to time.Time, limit int, rng *rand.Rand) {
	t.Helper()
	fires, full := r.bruteForce(from, to, limit)
	cur := from
	for i, f := range fires {
		n := s.Next(cur)
		if !n.Equal(f) {
			t.Fatalf("%s: Next(%v) = %v, brute force says %v (fire %d)", expr, cur, n, f, i)
		}
		cur = n
	}
	if full {
		if n := s.Next(cur); !n.IsZero() && !n.After(to) {
			t.Fatalf("%s: Next(%v) = %v, brute force found nothing up to %v", expr, cur, n, to)
		}
	}
	// Random probes inside the window.
	end := to
	if !full {
		end = fires[len(fires)-1]
	}
	span := end.Sub(from)
	if span <= 0 {
		return
	}
	for range 20 {
		p := from.Add(time.Duration(rng.Int64N(int64(span))))
		i := sort.Search(len(fires), func(i int) bool { return fires[i].After(p) })
		n := s.Next(p)
		switch {
		case i < len(fires):
			if !n.Equal(fires[i]) {
				t.Fatalf("%s: Next(%v) = %v, brute force says %v", expr, p, n, fires[i])
			}
		case full:
			if !n.IsZero() && !n.After(to) {
				t.Fatalf("%s: Next(%v) = %v, brute force found nothing up to %v", expr, p, n, to)
			}
		}
	}
}

// TestPropertyCron checks random expressions (with L, W, #, wrapping
// ranges, steps, names) against the brute-force evaluator over years of
// simulated time.
func TestPropertyCron(t *testing.T) {
	cases, years := 600, 3
	if testing.Short() {
		cases, years = 100, 1
	}
	g := &gen{rng: rand.New(rand.NewPCG(1, 2))}
	for range cases {
		from := g.start()
		expr, model := g.cron(from.Year())
		c, err := ParseCron(expr)
		if err != nil {
			t.Fatalf("generated %s: %v (%s)", expr, err, err.(*Error).Reason)
		}
		if got := refFromCron(c); *got != *model {
			t.Fatalf("%s: parsed tables differ from the generator's model\n got %+v\nwant %+v", expr, got, model)
		}
		checkAgainst(t, expr, c, model, from, from.AddDate(years, 0, 0), 4000, g.rng)
	}
}

// TestPropertyEveryDayRule runs each day rule over the whole 230 years at
// one fire a day, so every month of every year (every leap year, every
// weekday of the 1st) is covered.
func TestPropertyEveryDayRule(t *testing.T) {
	exprs := []string{
		"cron(0 0 L * ? *)", "cron(0 0 LW * ? *)", "cron(0 0 1W * ? *)", "cron(0 0 15W * ? *)",
		"cron(0 0 28W * ? *)", "cron(0 0 29W * ? *)", "cron(0 0 30W * ? *)", "cron(0 0 31W * ? *)",
		"cron(0 0 29 * ? *)", "cron(0 0 31 * ? *)", "cron(0 0 28-2 * ? *)",
		"cron(0 0 ? * 1L *)", "cron(0 0 ? * 7L *)", "cron(0 0 ? * 4#5 *)", "cron(0 0 ? * 1#1 *)",
		"cron(0 0 ? * SAT#5 *)", "cron(0 0 ? * L *)", "cron(0 0 ? * FRI-MON *)",
	}
	if testing.Short() {
		exprs = exprs[:4]
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, expr := range exprs {
		c, err := ParseCron(expr)
		if err != nil {
			t.Fatal(expr, err)
		}
		checkAgainst(t, expr, c, refFromCron(c), time.Time{}, utc(MaxYear+1, 1, 1, 0, 0), 1<<20, rng)
	}
}
