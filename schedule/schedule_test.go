package schedule

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func utc(y int, m time.Month, d, h, mi int) time.Time {
	return time.Date(y, m, d, h, mi, 0, 0, time.UTC)
}

// nextN returns the n fire times after after.
func nextN(s Schedule, after time.Time, n int) []time.Time {
	var out []time.Time
	for range n {
		after = s.Next(after)
		out = append(out, after)
		if after.IsZero() {
			break
		}
	}
	return out
}

func mustParse(t testing.TB, expr string) Schedule {
	t.Helper()
	s, err := Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v (%s)", expr, err, err.(*Error).Reason)
	}
	return s
}

// TestDocExamples runs the examples of the EventBridge user guide ("Cron
// expressions reference", "Rate expressions reference" and "Creating an
// Amazon EventBridge rule that runs on a schedule"). Calendar facts used:
// 2026-01-30 is a Friday, 2026-02-01 a Sunday, 2026-01-01 a Thursday,
// 2019-01-01 a Tuesday, 2022-12-01 a Thursday.
func TestDocExamples(t *testing.T) {
	fri := utc(2026, 1, 30, 0, 0)
	tests := []struct {
		expr  string
		after time.Time
		want  []time.Time
	}{
		// "Run at 10:00 am (UTC+0) every day"
		{"cron(0 10 * * ? *)", fri.Add(10 * time.Hour),
			[]time.Time{utc(2026, 1, 31, 10, 0), utc(2026, 2, 1, 10, 0)}},
		// "Run at 12:15 pm (UTC+0) every day"
		{"cron(15 12 * * ? *)", fri.Add(12*time.Hour + 14*time.Minute + 59*time.Second),
			[]time.Time{utc(2026, 1, 30, 12, 15), utc(2026, 1, 31, 12, 15)}},
		// "Run at 6:00 pm (UTC+0) every Monday through Friday"
		{"cron(0 18 ? * MON-FRI *)", fri.Add(18 * time.Hour),
			[]time.Time{utc(2026, 2, 2, 18, 0), utc(2026, 2, 3, 18, 0)}},
		// "Run at 8:00 am (UTC+0) every 1st day of the month"
		{"cron(0 8 1 * ? *)", fri,
			[]time.Time{utc(2026, 2, 1, 8, 0), utc(2026, 3, 1, 8, 0)}},
		// "Run every 15 minutes"
		{"cron(0/15 * * * ? *)", fri.Add(23*time.Hour + 50*time.Minute),
			[]time.Time{utc(2026, 1, 31, 0, 0), utc(2026, 1, 31, 0, 15)}},
		// "Run every 10 minutes Monday through Friday"
		{"cron(0/10 * ? * MON-FRI *)", fri.Add(23*time.Hour + 45*time.Minute),
			[]time.Time{utc(2026, 1, 30, 23, 50), utc(2026, 2, 2, 0, 0), utc(2026, 2, 2, 0, 10)}},
		// "Run every 5 minutes Monday through Friday between 8:00 am and
		// 5:55 pm (UTC+0)"
		{"cron(0/5 8-17 ? * MON-FRI *)", fri.Add(17*time.Hour + 50*time.Minute),
			[]time.Time{utc(2026, 1, 30, 17, 55), utc(2026, 2, 2, 8, 0), utc(2026, 2, 2, 8, 5)}},
		// "Run every 30 minutes Monday through Friday between 10:00 pm on
		// the starting day to 2:00 am on the following day (UTC)": the
		// hours range 20-2 wraps around midnight, and the day-of-week is
		// that of each fire time, so Saturday 00:00-02:30 does not fire
		// but Monday 00:00-02:30 does.
		{"cron(0/30 20-2 ? * MON-FRI *)", fri.Add(23 * time.Hour),
			[]time.Time{utc(2026, 1, 30, 23, 30), utc(2026, 2, 2, 0, 0), utc(2026, 2, 2, 0, 30),
				utc(2026, 2, 2, 1, 0), utc(2026, 2, 2, 1, 30), utc(2026, 2, 2, 2, 0),
				utc(2026, 2, 2, 2, 30), utc(2026, 2, 2, 20, 0)}},
		// put-rule examples: every day at 12:00pm; at 2:05pm and 2:35pm.
		{"cron(0 12 * * ? *)", fri.Add(12 * time.Hour),
			[]time.Time{utc(2026, 1, 31, 12, 0), utc(2026, 2, 1, 12, 0)}},
		{"cron(5,35 14 * * ? *)", fri.Add(14*time.Hour + 5*time.Minute),
			[]time.Time{utc(2026, 1, 30, 14, 35), utc(2026, 1, 31, 14, 5)}},
		// "runs at 10:15am UTC+0 on the last Friday of each month during
		// the years 2019 to 2022"
		{"cron(15 10 ? * 6L 2019-2022)", utc(2018, 6, 1, 0, 0),
			[]time.Time{utc(2019, 1, 25, 10, 15), utc(2019, 2, 22, 10, 15)}},
		{"cron(15 10 ? * 6L 2019-2022)", utc(2022, 12, 1, 0, 0),
			[]time.Time{utc(2022, 12, 30, 10, 15), {}}},
		// "3#2 would be the second Tuesday of the month"
		{"cron(0 0 ? * 3#2 *)", utc(2026, 1, 1, 0, 0),
			[]time.Time{utc(2026, 1, 13, 0, 0), utc(2026, 2, 10, 0, 0)}},
		// "3W specifies the weekday closest to the third day of the month":
		// 2026-01-03 is a Saturday (Friday the 2nd), 2026-02-03 a Tuesday,
		// 2026-05-03 a Sunday (Monday the 4th).
		{"cron(0 0 3W 1,2,5 ? *)", utc(2026, 1, 1, 0, 0),
			[]time.Time{utc(2026, 1, 2, 0, 0), utc(2026, 2, 3, 0, 0), utc(2026, 5, 4, 0, 0)}},
		// "The L wildcard in the Day-of-month ... specifies the last day of
		// the month"; 2024 is a leap year.
		{"cron(30 23 L * ? *)", utc(2024, 1, 31, 23, 30),
			[]time.Time{utc(2024, 2, 29, 23, 30), utc(2024, 3, 31, 23, 30), utc(2024, 4, 30, 23, 30)}},
		// "JAN,FEB,MAR includes January, February, and March"
		{"cron(0 0 1 JAN,FEB,MAR ? *)", utc(2026, 1, 1, 0, 0),
			[]time.Time{utc(2026, 2, 1, 0, 0), utc(2026, 3, 1, 0, 0), utc(2027, 1, 1, 0, 0)}},
		// "1-15 includes days 1 through 15"
		{"cron(0 0 1-15 * ? *)", utc(2026, 1, 14, 12, 0),
			[]time.Time{utc(2026, 1, 15, 0, 0), utc(2026, 2, 1, 0, 0)}},
		// "1/10 to specify every tenth minute, starting from the first
		// minute of the hour (for example, the 11th, 21st, and 31st minute)"
		{"cron(1/10 * * * ? *)", utc(2026, 1, 1, 0, 1),
			[]time.Time{utc(2026, 1, 1, 0, 11), utc(2026, 1, 1, 0, 21), utc(2026, 1, 1, 0, 31)}},
		// rate examples: rate(1 minute), rate(5 minutes), rate(1 hour),
		// rate(1 day); Next anchors at the Unix epoch.
		{"rate(1 minute)", utc(2026, 1, 1, 0, 1).Add(time.Second),
			[]time.Time{utc(2026, 1, 1, 0, 2), utc(2026, 1, 1, 0, 3)}},
		{"rate(5 minutes)", utc(2026, 1, 1, 0, 1),
			[]time.Time{utc(2026, 1, 1, 0, 5), utc(2026, 1, 1, 0, 10)}},
		{"rate(1 hour)", utc(2026, 1, 1, 0, 1),
			[]time.Time{utc(2026, 1, 1, 1, 0), utc(2026, 1, 1, 2, 0)}},
		{"rate(1 day)", utc(2026, 1, 1, 0, 0),
			[]time.Time{utc(2026, 1, 2, 0, 0), utc(2026, 1, 3, 0, 0)}},
	}
	for _, tc := range tests {
		got := nextN(mustParse(t, tc.expr), tc.after, len(tc.want))
		if !slices.EqualFunc(got, tc.want, time.Time.Equal) {
			t.Errorf("%s after %v:\n got %v\nwant %v", tc.expr, tc.after, got, tc.want)
		}
	}
}

// TestDocInvalid holds the expressions the documentation calls invalid.
func TestDocInvalid(t *testing.T) {
	for _, expr := range []string{
		"rate(1 hours)",                 // "rate(1 hours) and rate(5 hour) aren't valid"
		"rate(5 hour)",                  //
		"cron(0 0 ? * 3#1,6#3 *)",       // "3#1,6#3" is not valid
		"cron(0 10 * * MON *)",          // both day fields specified
		"cron(0 10 * * * *)",            // * in both day fields
		"cron(0 10 ? * ? *)",            // neither day field specified
		"cron(0 10 * * ?)",              // six fields are required
		"cron(0 10 * * ? * *)",          //
		"cron(0 10 * * ? 1969)",         // years 1970-2199
		"cron(0 10 * * ? 2200)",         //
		"cron(0 10 ? * 0 *)",            // day-of-week 1-7
		"cron(0 10 ? * 8 *)",            //
		"cron(0 10 * * L *)",            // L in both
		"cron(0 10 ? 0 MON *)",          // month 1-12
		"cron(0 10 ? 13 MON *)",         //
		"cron(0 10 0 * ? *)",            // day-of-month 1-31
		"cron(0 10 32 * ? *)",           //
		"cron(0 24 * * ? *)",            // hours 0-23
		"cron(60 0 * * ? *)",            // minutes 0-59
		"cron(0 10 ? * MON#1,FRI#3 *)",  // names with # too
		"cron(0 0 W * ? *)",             // W needs a day
		"cron(0 0 ? * 3W *)",            // W only in day-of-month
		"cron(0 0 ? JAN-DEC MON-FRI L)", // L not in year
		"cron(0 0 3#2 * ? *)",           // # only in day-of-week
		"cron(? 0 * * ? *)",             // ? only in the day fields
		"cron(0 ? * * ? *)",             //
		"cron(0 0 * ? ? *)",             //
		"cron(0 0 * * ? ?)",             //
	} {
		if _, err := Parse(expr); err == nil {
			t.Errorf("Parse(%q) accepted", expr)
		}
	}
}

// TestUndocumentedChoices writes down what this package does where the AWS
// documentation is silent. The rule: when unsure, refuse, so that whatever
// Switchyard accepts is accepted by AWS too. Each case says why.
func TestUndocumentedChoices(t *testing.T) {
	tests := []struct {
		expr string
		ok   bool
		why  string
	}{
		// Spelling and spacing. The docs always write lower-case rate( and
		// cron( with one space between fields and nothing else.
		{"Rate(5 minutes)", false, "keyword is lower case"},
		{"RATE(5 minutes)", false, "keyword is lower case"},
		{"Cron(0 10 * * ? *)", false, "keyword is lower case"},
		{"rate (5 minutes)", false, "no space before ("},
		{"rate(5  minutes)", false, "exactly one space between value and unit"},
		{"rate( 5 minutes)", false, "no space inside the parentheses"},
		{"rate(5 minutes )", false, "no space inside the parentheses"},
		{" rate(5 minutes)", false, "no surrounding white space"},
		{"rate(5 minutes) ", false, "no surrounding white space"},
		{"rate(5\tminutes)", false, "the separator is a space"},
		{"rate(5 Minutes)", false, "unit is lower case"},
		{"rate(5 MINUTES)", false, "unit is lower case"},
		{"rate(5minutes)", false, "value and unit are separated"},
		{"rate(5 minutes", false, "closing parenthesis required"},
		{"cron(0  10 * * ? *)", false, "exactly one space between fields"},
		{"cron( 0 10 * * ? *)", false, "no space inside the parentheses"},
		{"cron(0 10 * * ? * )", false, "no space inside the parentheses"},
		{"cron(0\t10 * * ? *)", false, "the separator is a space"},
		// rate values. "A positive number"; the examples are integers.
		{"rate(0 minutes)", false, "zero is not positive"},
		{"rate(0 minute)", false, "zero is not positive"},
		{"rate(-5 minutes)", false, "no sign"},
		{"rate(+5 minutes)", false, "no sign"},
		{"rate(05 minutes)", false, "no leading zeros (not documented either way)"},
		{"rate(01 minute)", false, "no leading zeros (not documented either way)"},
		{"rate(1.5 hours)", false, "integers only"},
		{"rate(1e2 minutes)", false, "integers only"},
		{"rate(1 minutes)", false, "1 takes the singular (documented for hours)"},
		{"rate(2 minute)", false, "more than 1 takes the plural"},
		{"rate(1 second)", false, "no seconds"},
		{"rate(1 week)", false, "no weeks"},
		{"rate(106751 days)", true, "largest value whose period fits a time.Duration"},
		{"rate(106752 days)", false, "period must fit a time.Duration (~292 years); AWS's limit is unknown"},
		{"rate(99999999999999999999 minutes)", false, "overflows"},
		// cron names: the docs write them upper case.
		{"cron(0 18 ? * mon-fri *)", false, "day names are upper case"},
		{"cron(0 18 ? jan MON *)", false, "month names are upper case"},
		{"cron(0 18 ? * Mon *)", false, "day names are upper case"},
		{"cron(0 18 l * ? *)", false, "L is upper case"},
		{"cron(0 18 15w * ? *)", false, "W is upper case"},
		{"cron(0 18 ? * MONDAY *)", false, "names are three letters"},
		{"cron(0 18 ? * MON-5 *)", false, "a range does not mix names and numbers (as Quartz)"},
		{"cron(0 18 ? * FRIL *)", true, "a name before L, as Quartz accepts"},
		{"cron(0 18 ? * FRI#2 *)", true, "a name before #, as Quartz accepts"},
		{"cron(0 18 1 JAN/3 ? *)", true, "a name before /, meaning JAN,APR,JUL,OCT"},
		// Numbers. SageMaker's reference for the same format writes hours
		// as [00-23], and Quartz reads them with parseInt: leading zeros are
		// accepted in cron fields, up to the field's width.
		{"cron(05 08 01 01 ? 2030)", true, "leading zeros in cron numbers"},
		{"cron(005 8 1 1 ? 2030)", false, "at most two digits (four for the year)"},
		{"cron(0 0 ? * 01 *)", false, "day-of-week is one digit"},
		{"cron(-1 0 * * ? *)", false, "no negative numbers"},
		// Ranges and steps.
		{"cron(0 22-2 * * ? *)", true, "ranges wrap around (documented: 20-2)"},
		{"cron(0 0 28-3 * ? *)", true, "day-of-month ranges wrap too (as Quartz)"},
		{"cron(0 0 1 NOV-FEB ? *)", true, "month ranges wrap too (as Quartz)"},
		{"cron(0 0 ? * FRI-MON *)", true, "day-of-week ranges wrap too (as Quartz)"},
		{"cron(0 0 1 1 ? 2030-2020)", false, "year ranges do not wrap (as Quartz)"},
		{"cron(*/5 * * * ? *)", true, "*/n is the same as min/n"},
		{"cron(10-40/5 * * * ? *)", true, "a range with a step"},
		{"cron(0/0 * * * ? *)", false, "step must be positive"},
		{"cron(0/59 * * * ? *)", true, "Quartz allows minute steps up to 59"},
		{"cron(0/60 * * * ? *)", false, "Quartz refuses minute steps over 59"},
		{"cron(0 0/24 * * ? *)", false, "Quartz refuses hour steps over 23"},
		{"cron(0 0 1/31 * ? *)", true, "Quartz allows day steps up to 31"},
		{"cron(0 0 ? * 1/2 *)", false, "the current docs list no / for day-of-week"},
		{"cron(0 0 ? * */2 *)", false, "the current docs list no / for day-of-week"},
		{"cron(0 0 1 1 ? 2020/4)", true, "year steps"},
		{"cron(0 0 1 1 ? */4)", true, "year steps from 1970"},
		{"cron(1,2,3 * * * ? *)", true, "lists"},
		{"cron(1,,3 * * * ? *)", false, "no empty list items"},
		{"cron(1, * * * ? *)", false, "no empty list items"},
		{"cron(*,5 * * * ? *)", true, "* inside a list is harmless"},
		{"cron(1-2-3 * * * ? *)", false, "one dash per range"},
		{"cron(5/ * * * ? *)", false, "step missing"},
		{"cron(5/1/2 * * * ? *)", false, "one step"},
		// L, W and #.
		{"cron(0 0 L-3 * ? *)", false, "Quartz's L-n offset is not documented by AWS"},
		{"cron(0 0 LW * ? *)", true, "last weekday of the month (Quartz)"},
		{"cron(0 0 L,15 * ? *)", false, "L must be the whole field (as Quartz)"},
		{"cron(0 0 15W,L * ? *)", false, "W must be the whole field"},
		{"cron(0 0 1-5W * ? *)", false, "W takes one day"},
		{"cron(0 0 31W * ? *)", true, "31W: in a 30-day month it does not fire"},
		{"cron(0 0 32W * ? *)", false, "day out of range"},
		{"cron(0 0 ? * L *)", true, "L alone: the last day of the week, Saturday"},
		{"cron(0 0 ? * 6L,2 *)", false, "L must be the whole field (as Quartz)"},
		{"cron(0 0 ? * 8L *)", false, "day out of range"},
		{"cron(0 0 ? * 3#0 *)", false, "occurrence 1-5"},
		{"cron(0 0 ? * 3#6 *)", false, "occurrence 1-5"},
		{"cron(0 0 ? * 3#5 *)", true, "fifth occurrence: only months that have one"},
		{"cron(0 0 ? * 3# *)", false, "occurrence missing"},
		{"cron(0 0 ? * #2 *)", false, "day missing"},
		{"cron(0 0 ? * 3#2-3#3 *)", false, "no ranges of #"},
		{"cron(0 0 ? * 1-7 *)", true, "every day by day-of-week"},
		{"cron(0 0 ? * * *)", true, "* in day-of-week with ? in day-of-month"},
		{"cron(* * * * ? *)", true, "every minute is the fastest allowed rate"},
		{"", false, "empty"},
		{"cron()", false, "empty"},
		{"rate()", false, "empty"},
		{"at(2026-01-01T00:00:00)", false, "at() is EventBridge Scheduler only"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.expr)
		if (err == nil) != tc.ok {
			reason := ""
			if err != nil {
				reason = err.(*Error).Reason
			}
			t.Errorf("Parse(%q): ok=%v, want %v (%s) %s", tc.expr, err == nil, tc.ok, tc.why, reason)
		}
	}
}

func TestError(t *testing.T) {
	_, err := Parse("rate(5 hour)")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *Error", err)
	}
	if err.Error() != "Parameter ScheduleExpression is not valid." {
		t.Errorf("message %q", err.Error())
	}
	if e.Expr != "rate(5 hour)" || e.Reason == "" {
		t.Errorf("error %+v", e)
	}
	if _, err := ParseCron("rate(5 hours)"); err == nil {
		t.Error("ParseCron accepted a rate")
	}
	if _, err := ParseRate("cron(0 0 * * ? *)"); err == nil {
		t.Error("ParseRate accepted a cron")
	}
}

// TestFieldSets checks the values each field syntax selects.
func TestFieldSets(t *testing.T) {
	list := func(m uint64) []int {
		var out []int
		for i := range 64 {
			if m&(1<<i) != 0 {
				out = append(out, i)
			}
		}
		return out
	}
	tests := []struct {
		expr string
		get  func(*Cron) uint64
		want []int
	}{
		{"cron(*/20 * * * ? *)", func(c *Cron) uint64 { return c.minutes }, []int{0, 20, 40}},
		{"cron(5/15 * * * ? *)", func(c *Cron) uint64 { return c.minutes }, []int{5, 20, 35, 50}},
		{"cron(50-10/5 * * * ? *)", func(c *Cron) uint64 { return c.minutes }, []int{0, 5, 10, 50, 55}},
		{"cron(58-1 * * * ? *)", func(c *Cron) uint64 { return c.minutes }, []int{0, 1, 58, 59}},
		{"cron(7-7 * * * ? *)", func(c *Cron) uint64 { return c.minutes }, []int{7}},
		{"cron(1,3,1 * * * ? *)", func(c *Cron) uint64 { return c.minutes }, []int{1, 3}},
		{"cron(0 22-1 * * ? *)", func(c *Cron) uint64 { return c.hours }, []int{0, 1, 22, 23}},
		{"cron(0 20-2/2 * * ? *)", func(c *Cron) uint64 { return c.hours }, []int{0, 2, 20, 22}},
		{"cron(0 0/6 * * ? *)", func(c *Cron) uint64 { return c.hours }, []int{0, 6, 12, 18}},
		{"cron(0 0 30-2 * ? *)", func(c *Cron) uint64 { return c.days }, []int{1, 2, 30, 31}},
		{"cron(0 0 1/10 * ? *)", func(c *Cron) uint64 { return c.days }, []int{1, 11, 21, 31}},
		{"cron(0 0 * * ? *)", func(c *Cron) uint64 { return c.days }, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}},
		{"cron(0 0 1 NOV-FEB ? *)", func(c *Cron) uint64 { return c.months }, []int{1, 2, 11, 12}},
		{"cron(0 0 1 */5 ? *)", func(c *Cron) uint64 { return c.months }, []int{1, 6, 11}},
		{"cron(0 0 1 FEB/3 ? *)", func(c *Cron) uint64 { return c.months }, []int{2, 5, 8, 11}},
		{"cron(0 0 ? * FRI-MON *)", func(c *Cron) uint64 { return c.days }, []int{1, 2, 6, 7}},
		{"cron(0 0 ? * SUN,7 *)", func(c *Cron) uint64 { return c.days }, []int{1, 7}},
		{"cron(0 0 ? * L *)", func(c *Cron) uint64 { return c.days }, []int{7}},
		{"cron(0 0 1 1 ? 2190/5)", func(c *Cron) uint64 { return c.years[3] }, []int{2190 - 1970 - 192, 2195 - 1970 - 192}},
	}
	for _, tc := range tests {
		c, err := ParseCron(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := list(tc.get(c)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestCronEdges(t *testing.T) {
	tests := []struct {
		expr  string
		after time.Time
		want  []time.Time
	}{
		// Before 1970 the search starts at 1970-01-01T00:00.
		{"cron(0 0 * * ? *)", time.Time{}, []time.Time{utc(1970, 1, 1, 0, 0), utc(1970, 1, 2, 0, 0)}},
		{"cron(0 0 * * ? *)", utc(1969, 12, 31, 23, 59), []time.Time{utc(1970, 1, 1, 0, 0)}},
		// The last possible fire time, then nothing.
		{"cron(59 23 31 12 ? *)", utc(2199, 12, 31, 23, 58), []time.Time{utc(2199, 12, 31, 23, 59), {}}},
		{"cron(* * * * ? *)", utc(2199, 12, 31, 23, 59), []time.Time{{}}},
		{"cron(* * * * ? *)", utc(2300, 1, 1, 0, 0), []time.Time{{}}},
		// Strictly after, with seconds and nanoseconds.
		{"cron(* * * * ? *)", utc(2026, 1, 1, 0, 0), []time.Time{utc(2026, 1, 1, 0, 1)}},
		{"cron(* * * * ? *)", utc(2026, 1, 1, 0, 0).Add(-time.Nanosecond), []time.Time{utc(2026, 1, 1, 0, 0)}},
		{"cron(* * * * ? *)", utc(2026, 1, 1, 0, 0).Add(59 * time.Second), []time.Time{utc(2026, 1, 1, 0, 1)}},
		// Non-UTC input is read as the same instant (13:00+02:00 is 11:00Z).
		{"cron(0 12 * * ? *)", time.Date(2026, 1, 1, 13, 0, 0, 0, time.FixedZone("x", 2*3600)),
			[]time.Time{utc(2026, 1, 1, 12, 0), utc(2026, 1, 2, 12, 0)}},
		// Never: 30 February, 31 April; the search gives up after 2199.
		{"cron(0 0 30 2 ? *)", utc(2026, 1, 1, 0, 0), []time.Time{{}}},
		{"cron(0 0 31 4,6,9,11 ? *)", utc(2026, 1, 1, 0, 0), []time.Time{{}}},
		// 29 February: leap years only (2100 is not one).
		{"cron(0 0 29 2 ? *)", utc(2096, 3, 1, 0, 0), []time.Time{utc(2104, 2, 29, 0, 0)}},
		{"cron(0 0 29 2 ? 2000)", utc(1999, 1, 1, 0, 0), []time.Time{utc(2000, 2, 29, 0, 0), {}}},
		// 31W in a 30-day month does not fire; in a 31-day month where the
		// 31st is a Sunday it is Friday the 29th (2026-05-31 is a Sunday).
		{"cron(0 0 31W * ? 2026)", utc(2026, 4, 1, 0, 0), []time.Time{utc(2026, 5, 29, 0, 0), utc(2026, 7, 31, 0, 0)}},
		// 1W when the 1st is a Saturday is Monday the 3rd (2026-08-01).
		{"cron(0 0 1W 8 ? 2026)", utc(2026, 1, 1, 0, 0), []time.Time{utc(2026, 8, 3, 0, 0)}},
		// LW: 2026-01-31 is a Saturday, 2026-05-31 a Sunday.
		{"cron(0 0 LW 1,5 ? 2026)", utc(2026, 1, 1, 0, 0), []time.Time{utc(2026, 1, 30, 0, 0), utc(2026, 5, 29, 0, 0), {}}},
		// Fifth Sunday of February: only when a leap February starts on a
		// Sunday (2004, 2032, 2060, 2088, 2128, ...).
		{"cron(0 0 ? 2 1#5 *)", utc(2005, 1, 1, 0, 0), []time.Time{utc(2032, 2, 29, 0, 0), utc(2060, 2, 29, 0, 0)}},
		// Last Saturday (7L) and L alone (every Saturday).
		{"cron(0 0 ? * 7L *)", utc(2026, 1, 1, 0, 0), []time.Time{utc(2026, 1, 31, 0, 0), utc(2026, 2, 28, 0, 0)}},
		{"cron(0 0 ? * L *)", utc(2026, 1, 1, 0, 0), []time.Time{utc(2026, 1, 3, 0, 0), utc(2026, 1, 10, 0, 0)}},
	}
	for _, tc := range tests {
		got := nextN(mustParse(t, tc.expr), tc.after, len(tc.want))
		if !slices.EqualFunc(got, tc.want, time.Time.Equal) {
			t.Errorf("%s after %v:\n got %v\nwant %v", tc.expr, tc.after, got, tc.want)
		}
		for _, g := range got {
			if !g.IsZero() && g.Location() != time.UTC {
				t.Errorf("%s: %v not in UTC", tc.expr, g)
			}
		}
	}
}

func TestRate(t *testing.T) {
	r, err := ParseRate("rate(5 minutes)")
	if err != nil {
		t.Fatal(err)
	}
	if r.Period() != 5*time.Minute || r.Value != 5 || r.Unit != time.Minute || r.String() != "rate(5 minutes)" {
		t.Errorf("%+v period %v", r, r.Period())
	}
	for expr, p := range map[string]time.Duration{
		"rate(1 minute)": time.Minute, "rate(1 hour)": time.Hour, "rate(1 day)": 24 * time.Hour,
		"rate(90 minutes)": 90 * time.Minute, "rate(36 hours)": 36 * time.Hour, "rate(365 days)": 365 * 24 * time.Hour,
	} {
		r, err := ParseRate(expr)
		if err != nil || r.Period() != p {
			t.Errorf("%s: %v %v", expr, err, r)
		}
	}
	anchor := time.Date(2026, 1, 30, 10, 7, 31, 5, time.UTC) // truncated to 10:07
	tests := []struct {
		after, want time.Time
	}{
		{anchor, utc(2026, 1, 30, 10, 12)},
		{utc(2020, 1, 1, 0, 0), utc(2026, 1, 30, 10, 12)}, // before creation: the first fire
		{utc(2026, 1, 30, 10, 7), utc(2026, 1, 30, 10, 12)},
		{utc(2026, 1, 30, 10, 12).Add(-time.Nanosecond), utc(2026, 1, 30, 10, 12)},
		{utc(2026, 1, 30, 10, 12), utc(2026, 1, 30, 10, 17)},
		{utc(2026, 1, 30, 10, 12).Add(time.Nanosecond), utc(2026, 1, 30, 10, 17)},
		{utc(2027, 1, 30, 10, 8), utc(2027, 1, 30, 10, 12)}, // 2026 is not a leap year: 525600 minutes later
	}
	for _, tc := range tests {
		if got := r.NextFrom(anchor, tc.after); !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("NextFrom(%v, %v) = %v, want %v", anchor, tc.after, got, tc.want)
		}
	}
	// A negative anchor (before 1970) truncates down to the minute too.
	old := time.Date(1969, 12, 31, 23, 59, 30, 0, time.UTC)
	if got := r.NextFrom(old, old); !got.Equal(utc(1970, 1, 1, 0, 4)) {
		t.Errorf("NextFrom(old) = %v", got)
	}
	d, _ := ParseRate("rate(2 days)")
	if got := d.NextFrom(utc(2024, 2, 28, 6, 0), utc(2024, 2, 28, 6, 0)); !got.Equal(utc(2024, 3, 1, 6, 0)) {
		t.Errorf("2 days over 29 February: %v", got)
	}
}
