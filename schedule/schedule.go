// Package schedule parses Amazon EventBridge schedule expressions, the
// ScheduleExpression of a scheduled rule, and computes when they fire. It
// also reads the expressions of EventBridge Scheduler, which adds one-time
// at() schedules and time zones (ParseScheduler, Cron.NextIn: see
// scheduler.go).
//
// Two forms exist, and Parse accepts exactly the text AWS documents:
//
//	rate(value unit)
//	cron(minutes hours day-of-month month day-of-week year)
//
// # Time zone
//
// Everything is UTC. Scheduled rules have no time zone setting (that is an
// EventBridge Scheduler feature, Cron.NextIn), so fields are read against UTC wall-clock
// time, Next converts its argument to UTC and every returned time is in UTC.
// Fire times have one-minute resolution: the seconds of a fire time are
// always zero.
//
// # rate()
//
// value is a positive decimal integer without sign or leading zeros; unit is
// minute, hour or day when value is 1 and minutes, hours or days otherwise.
// A single space separates the two; nothing else may appear inside the
// parentheses.
//
// AWS anchors a rate schedule to the moment the rule is created: "A rate
// expression starts when you create the scheduled event rule, and then it
// runs on a defined schedule." This package cannot know that moment, so
// [Rate.NextFrom] takes the anchor explicitly: the fire times are
// anchor+k*period for k = 1, 2, ..., with the anchor first truncated to the
// minute. The anchor itself is not a fire time (the first fire is one period
// after creation). The server stores the rule's creation time and calls
// NextFrom. [Rate.Next], which the [Schedule] interface needs, anchors at the
// Unix epoch (1970-01-01T00:00Z), so that rate(1 hour) fires on the hour and
// rate(1 day) at midnight UTC.
//
// # cron()
//
// Six fields separated by single spaces:
//
//	field         values            wildcards
//	minutes       0-59              , - * /
//	hours         0-23              , - * /
//	day-of-month  1-31              , - * ? / L W
//	month         1-12 or JAN-DEC   , - * /
//	day-of-week   1-7 or SUN-SAT    , - * ? L #
//	year          1970-2199         , - * /
//
// Day-of-week 1 is Sunday. Exactly one of day-of-month and day-of-week must
// be ?: a schedule cannot constrain both, and cannot leave both open.
//
// A field is a comma-separated list of items; an item is *, a value, a
// range a-b, or (except in day-of-week) one of those followed by /step.
// Numbers may have leading zeros up to the field's width. A range whose
// start is after
// its end wraps around (hours 20-2 is 20,21,22,23,0,1,2; AWS documents this
// form), except in the year field. v/step means v, v+step, ... up to the
// field's maximum; */step starts at the field's minimum.
//
// Day-of-month L is the last day of the month, nW the weekday (Monday to
// Friday) nearest day n without leaving the month, and LW the last weekday
// of the month. Day-of-week L alone is Saturday (the last day of the week),
// dL the last weekday d of the month (6L is the last Friday) and d#k the
// k-th weekday d of the month (3#2 is the second Tuesday). L, W and # forms
// must be the whole field; AWS documents that "3#1,6#3" is not valid.
//
// Years end at 2199: Next returns the zero Time when no fire time remains.
//
// Where the AWS documentation is silent this package refuses, so that what
// it accepts AWS accepts too, unless Quartz (whose cron dialect AWS's
// follows: 1 = Sunday, ?, L, W, #, wrapping ranges) gives a strong hint:
// leading zeros, wrapping day, month and weekday ranges, FRIL and FRI#2, and
// Quartz's increment limits. The choices are written down as tests
// (TestUndocumentedChoices).
//
// Parse does not check the 256-character length limit of ScheduleExpression:
// AWS reports that with a different message, so the caller checks it.
package schedule

import (
	"strings"
	"time"
)

// Schedule is a parsed schedule expression.
type Schedule interface {
	// Next returns the first fire time strictly after after, in UTC, or the
	// zero Time if there is none.
	Next(after time.Time) time.Time
}

// Message is the text of AWS's ValidationException for an invalid
// ScheduleExpression in PutRule.
const Message = "Parameter ScheduleExpression is not valid."

// Error reports an expression that Parse refuses. Its Error method returns
// AWS's message; Reason says, for logs and tests, what was wrong.
type Error struct {
	Expr   string // the expression as given
	Reason string // why it was refused
}

// Error returns AWS's ValidationException message, whatever the reason.
func (e *Error) Error() string { return Message }

func invalid(expr, reason string) *Error { return &Error{Expr: expr, Reason: reason} }

// Parse parses a rate() or cron() schedule expression. The result is a
// *Rate or a *Cron. Any error is an *Error.
func Parse(expr string) (Schedule, error) {
	switch {
	case strings.HasPrefix(expr, "rate("):
		r, err := ParseRate(expr)
		if err != nil {
			return nil, err
		}
		return r, nil
	case strings.HasPrefix(expr, "cron("):
		c, err := ParseCron(expr)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, invalid(expr, "neither rate(...) nor cron(...)")
}

// inner returns the text between "name(" and the final ")".
func inner(expr, name string) (string, bool) {
	s, ok := strings.CutPrefix(expr, name+"(")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(s, ")")
}
