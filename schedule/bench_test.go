package schedule

import "testing"

// BenchmarkNext measures one Next call from a moving start, for typical and
// for expensive expressions (the rare and the never-firing ones search the
// calendar up to 2199).
func BenchmarkNext(b *testing.B) {
	for _, expr := range []string{
		"cron(0/5 8-17 ? * MON-FRI *)",
		"cron(0 10 * * ? *)",
		"cron(15 10 ? * 6L *)",
		"cron(0 0 LW * ? *)",
		"cron(0 0 15W * ? *)",
		"cron(0 9 ? * 2#1 *)",
		"cron(0 0 29 2 ? *)",
		"cron(0 0 ? 2 1#5 *)", // fifth Sunday of February: every 28 years or so
		"cron(0 0 30 2 ? *)",  // never: scans every February up to 2199
		"rate(5 minutes)",
	} {
		s, err := Parse(expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(expr, func(b *testing.B) {
			start := utc(2026, 1, 1, 0, 0)
			t := start
			for b.Loop() {
				t = s.Next(t)
				if t.IsZero() || t.Year() > 2150 {
					t = start
				}
			}
		})
	}
}

// BenchmarkParse measures parsing a typical and a busy expression.
func BenchmarkParse(b *testing.B) {
	for _, expr := range []string{"cron(0/5 8-17 ? * MON-FRI *)", "cron(1,5,9-20/3,50-10 */2 1-5,10,28-2 NOV-FEB ? 2020-2030,2040/5)", "rate(5 minutes)"} {
		b.Run(expr, func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse(expr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
