package schedule

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary text to Parse. It must not panic; a refusal
// must be an *Error with AWS's message; an accepted expression must give
// strictly increasing fire times that agree with the brute-force evaluator
// over a short window.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(12 hours)", "rate(1 day)", "rate(7 days)",
		"cron(0 10 * * ? *)", "cron(15 12 * * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(0 8 1 * ? *)",
		"cron(0/15 * * * ? *)", "cron(0/10 * ? * MON-FRI *)", "cron(0/5 8-17 ? * MON-FRI *)",
		"cron(0/30 20-2 ? * MON-FRI *)", "cron(15 10 ? * 6L 2019-2022)", "cron(0 0 ? * 3#2 *)",
		"cron(0 0 3W * ? *)", "cron(0 0 LW * ? *)", "cron(30 23 L * ? *)", "cron(0 0 29 2 ? *)",
		"cron(0 0 ? 2 1#5 *)", "cron(50-10/5 22-1 30-2 NOV-FEB ? 2020/3)", "cron(* * ? * L *)",
		"cron(0 0 31W * ? *)", "cron(05 08 01 01 ? 2030)", "cron(0 0 ? * 3#1,6#3 *)", "rate(1 hours)",
	} {
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, expr string, seed int64) {
		s, err := Parse(expr)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || err.Error() != Message || s != nil {
				t.Fatalf("Parse(%q): %T %v %v", expr, err, err, s)
			}
			return
		}
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		// A start between 1969 and 2200.
		from := time.Unix(-366*86400+rng.Int64N(231*366*86400), rng.Int64N(1e9)).UTC()
		switch s := s.(type) {
		case *Rate:
			anchor := time.Unix(from.Unix()-rng.Int64N(1e9), 0)
			prev := from
			for range 50 {
				n := s.NextFrom(anchor, prev)
				if !n.After(prev) || n.Sub(prev) > s.Period() || n.Second() != 0 ||
					(n.Unix()-anchor.Truncate(time.Minute).Unix())%int64(s.Period()/time.Second) != 0 {
					t.Fatalf("%s: NextFrom(%v, %v) = %v", expr, anchor, prev, n)
				}
				prev = n
			}
		case *Cron:
			prev := from
			for range 50 {
				n := s.Next(prev)
				if n.IsZero() {
					break
				}
				if !n.After(prev) || n.Year() > MaxYear || n.Second() != 0 {
					t.Fatalf("%s: Next(%v) = %v", expr, prev, n)
				}
				prev = n
			}
			checkAgainst(t, expr, s, refFromCron(s), from, from.Add(72*time.Hour), 500, rng)
		default:
			t.Fatalf("Parse returned %T", s)
		}
	})
}
