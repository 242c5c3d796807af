package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/match"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/schedule"
)

// fakeClock moves only when told to; a timer fires when Set reaches it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c  chan time.Time
	at time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }
func (t *fakeTimer) Stop() bool          { return true } // a stale timer is never read

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: make(chan time.Time, 1), at: c.now.Add(d)}
	if d <= 0 {
		t.c <- c.now
	} else {
		c.timers = append(c.timers, t)
	}
	return t
}

func (c *fakeClock) Set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(now) {
			kept = append(kept, t)
		} else {
			t.c <- now
		}
	}
	c.timers = kept
}

var sc = control.Scope{Account: "123456789012", Region: "eu-west-1"}

// env is a store, a running view of it and a consumer of the tasks the
// schedulers publish (no deliverer runs).
type env struct {
	t    *testing.T
	st   *store.Store
	view *control.View
	ctl  *control.Service
	cons jetstream.Consumer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, ctl := controltest.Open(t, store.Config{Sync: time.Minute})
	ctl.ScheduleValid = func(expr string) error { _, err := schedule.Parse(expr); return err }
	if err := ctl.EnsureDefaultBus(ctx, sc); err != nil {
		t.Fatal(err)
	}
	cons, err := st.JS.CreateOrUpdateConsumer(ctx, store.DeliveryStream, jetstream.ConsumerConfig{
		Durable: "test", AckPolicy: jetstream.AckExplicitPolicy, FilterSubjects: []string{store.DeliveryPrefix + ">", store.TickPrefix + ">"}})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, view: ctl.View(), ctl: ctl, cons: cons}
}

// putRule stores a scheduled rule as PutRule would, with the creation time
// given (PutRule takes it from the real clock).
func (e *env) putRule(name, expr string, created time.Time, targets ...string) {
	e.t.Helper()
	r := control.Rule{Scope: sc, Bus: control.DefaultBus, Name: name, ScheduleExpression: expr,
		State: control.StateEnabled, CreationTime: created}
	for i, u := range targets {
		r.Targets = append(r.Targets, control.Target{Id: fmt.Sprintf("t%d", i), Arn: u})
	}
	data, _ := json.Marshal(r)
	rev, err := e.st.Control.Put(context.Background(), "rule."+sc.Account+"."+sc.Region+".default."+store.Token(name), data)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.view.WaitRev(context.Background(), rev); err != nil {
		e.t.Fatal(err)
	}
}

// sched is a running Scheduler on a fake clock.
type sched struct {
	*Scheduler
	clock *fakeClock
	woke  chan time.Time
	stop  func()
}

func (e *env) start(now time.Time) *sched {
	e.t.Helper()
	s := New(e.st, e.view, slog.New(slog.NewTextHandler(io.Discard, nil)))
	clk := &fakeClock{now: now}
	woke := make(chan time.Time, 1)
	s.clock, s.woke = clk, func(t time.Time) { woke <- t }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	r := &sched{Scheduler: s, clock: clk, woke: woke}
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Error(err)
		}
		r.stop = func() {}
	}
	e.t.Cleanup(func() { r.stop() })
	r.await(now) // the round at start
	return r
}

func (s *sched) await(at time.Time) {
	select {
	case got := <-s.woke:
		if !got.Equal(at) {
			panic(fmt.Sprintf("round at %s, want %s", got, at))
		}
	case <-time.After(10 * time.Second):
		panic(fmt.Sprintf("no round at %s", at))
	}
}

// step sets the clock to at, a minute boundary, and waits for the round.
func (s *sched) step(at time.Time) {
	s.clock.Set(at)
	s.await(at)
}

// fired is one delivery task as a target would get it.
type fired struct {
	Rule, Target, Time, ID string
	// Due is the task's due time (match.HeaderDue, RFC 3339), "" if none.
	Due string
}

// tasks takes every task stored so far.
func (e *env) tasks() []fired {
	e.t.Helper()
	var out []fired
	for {
		batch, err := e.cons.FetchNoWait(1000)
		if err != nil {
			e.t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			task, err := match.DecodeTask(m.Data())
			if err != nil {
				e.t.Fatal(err)
			}
			var ev struct {
				ID         string   `json:"id"`
				Time       string   `json:"time"`
				DetailType string   `json:"detail-type"`
				Source     string   `json:"source"`
				Resources  []string `json:"resources"`
			}
			if err := json.Unmarshal(task.Event, &ev); err != nil {
				e.t.Fatal(err)
			}
			if ev.DetailType != DetailType || ev.Source != Source || len(ev.Resources) != 1 || ev.Resources[0] != task.RuleArn {
				e.t.Errorf("not a scheduled event: %s", task.Event)
			}
			f := fired{Rule: task.RuleName, Target: task.Target.Arn, Time: ev.Time, ID: ev.ID}
			if ms, err := strconv.ParseInt(m.Headers().Get(match.HeaderDue), 10, 64); err == nil {
				f.Due = time.UnixMilli(ms).UTC().Format(time.RFC3339)
			}
			out = append(out, f)
			_ = m.Ack()
		}
		if n == 0 {
			// A fetch that finds nothing may have come before the
			// consumer saw a message just stored (seen once under a
			// loaded machine); the consumer's info counts from the
			// stream itself.
			info, err := e.cons.Info(context.Background())
			if err != nil {
				e.t.Fatal(err)
			}
			if info.NumPending == 0 {
				return out
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// ticksOf lists, per rule, the tick times of tasks.
func ticksOf(fs []fired) map[string][]string {
	out := map[string][]string{}
	for _, f := range fs {
		out[f.Rule] = append(out[f.Rule], f.Time)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// TestMonthsOfTicks runs three months of rate() and cron() schedules on a
// clock stepped minute by minute, as the real one wakes the scheduler, and
// checks every tick of every rule: the first ones written out, all of them
// against package schedule's own computation.
func TestMonthsOfTicks(t *testing.T) {
	e := newEnv(t)
	start := ts("2028-01-30T09:00:00Z") // 2028 is a leap year
	until := ts("2028-04-30T09:00:00Z")
	created := ts("2028-01-30T08:43:27Z")
	rules := []struct {
		name, expr string
		first      []string
	}{
		// Rates are anchored at creation, truncated to the minute; the
		// creation itself is not a tick.
		{"every-2h", "rate(2 hours)", []string{"2028-01-30T10:43:00Z", "2028-01-30T12:43:00Z"}},
		{"daily", "rate(1 day)", []string{"2028-01-31T08:43:00Z", "2028-02-01T08:43:00Z"}},
		{"weekly", "rate(7 days)", []string{"2028-02-06T08:43:00Z", "2028-02-13T08:43:00Z"}},
		{"noon", "cron(0 12 * * ? *)", []string{"2028-01-30T12:00:00Z", "2028-01-31T12:00:00Z"}},
		{"office-half-hours", "cron(0/30 9-17 ? * MON-FRI *)", []string{"2028-01-31T09:00:00Z", "2028-01-31T09:30:00Z"}},
		{"last-friday", "cron(0 10 ? * 6L *)", []string{"2028-02-25T10:00:00Z", "2028-03-31T10:00:00Z", "2028-04-28T10:00:00Z"}},
		{"month-end", "cron(15 8 L * ? *)", []string{"2028-01-31T08:15:00Z", "2028-02-29T08:15:00Z", "2028-03-31T08:15:00Z"}},
		{"second-tuesday", "cron(30 7 ? * 3#2 *)", []string{"2028-02-08T07:30:00Z", "2028-03-14T07:30:00Z", "2028-04-11T07:30:00Z"}},
		{"nearest-weekday-15", "cron(0 6 15W * ? *)", []string{"2028-02-15T06:00:00Z", "2028-03-15T06:00:00Z", "2028-04-14T06:00:00Z"}},
	}
	for _, r := range rules {
		e.putRule(r.name, r.expr, created, "http://receiver.invalid/"+r.name)
	}
	s := e.start(start)
	for now := start.Add(time.Minute); !now.After(until); now = now.Add(time.Minute) {
		s.step(now)
	}
	fs := e.tasks()
	if s.claimed != int64(len(fs)) || s.lost != 0 {
		t.Errorf("claimed %d ticks (lost %d), fired %d", s.claimed, s.lost, len(fs))
	}
	got := ticksOf(fs)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			sch, _ := schedule.Parse(r.expr)
			var want []string
			for tick := start; ; {
				if rate, ok := sch.(*schedule.Rate); ok {
					tick = rate.NextFrom(created, tick)
				} else {
					tick = sch.Next(tick)
				}
				if tick.After(until) {
					break
				}
				want = append(want, tick.Format(time.RFC3339))
			}
			for i, f := range r.first {
				if i >= len(got[r.name]) || got[r.name][i] != f {
					t.Errorf("tick %d = %v, want %s", i, at(got[r.name], i), f)
				}
			}
			if fmt.Sprint(got[r.name]) != fmt.Sprint(want) {
				t.Errorf("%d ticks, want %d:\ngot  %v\nwant %v", len(got[r.name]), len(want), got[r.name], want)
			}
		})
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "none"
}

// TestEveryMinuteForADay fires rate(1 minute) 1,440 times, each tick once,
// with the event AWS sends.
func TestEveryMinuteForADay(t *testing.T) {
	e := newEnv(t)
	start := ts("2027-12-31T12:00:00Z")
	e.putRule("tick", "rate(1 minute)", ts("2027-12-31T11:59:59Z"), "http://a.invalid/", "http://b.invalid/")
	s := e.start(start)
	for now := start.Add(time.Minute); !now.After(start.Add(24 * time.Hour)); now = now.Add(time.Minute) {
		s.step(now)
	}
	fs := e.tasks()
	// The start is on a tick, fired by the round at start.
	if len(fs) != 2*1441 {
		t.Fatalf("%d tasks, want %d", len(fs), 2*1441)
	}
	ids := map[string]string{}
	for _, f := range fs {
		if prev, ok := ids[f.Time]; ok && prev != f.ID {
			t.Errorf("two event ids for the tick %s: the targets of a tick get one event", f.Time)
		}
		ids[f.Time] = f.ID
	}
	if len(ids) != 1441 || s.claimed != 1441 {
		t.Errorf("%d distinct ticks, %d claimed; want 1441", len(ids), s.claimed)
	}
	if _, ok := ids["2028-01-01T00:00:00Z"]; !ok {
		t.Errorf("no tick at the new year")
	}
}

// TestChangesAtNextTick: DisableRule, EnableRule, PutRule, PutTargets and
// DeleteRule made between two ticks apply from the next one.
func TestChangesAtNextTick(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	t0 := ts("2027-06-01T10:00:00Z")
	e.putRule("r", "rate(1 minute)", t0.Add(-30*time.Second), "http://one.invalid/")
	s := e.start(t0.Add(10 * time.Second))
	if got := ticksOf(e.tasks())["r"]; fmt.Sprint(got) != "[2027-06-01T10:00:00Z]" {
		t.Errorf("the start within the 10:00 tick's minute fired %v", got)
	}
	minute := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	steps := []struct {
		name   string
		change func() error
		want   []string // targets of tick n
	}{
		{"enabled", nil, []string{"http://one.invalid/"}},
		{"disabled", func() error { return e.ctl.SetRuleState(ctx, sc, "", "r", control.StateDisabled) }, nil},
		{"still disabled", nil, nil},
		{"enabled again", func() error { return e.ctl.SetRuleState(ctx, sc, "", "r", control.StateEnabled) }, []string{"http://one.invalid/"}},
		{"targets changed", func() error {
			_, err := e.ctl.PutTargets(ctx, sc, "", "r", []control.Target{{Id: "t1", Arn: "http://two.invalid/"}})
			return err
		}, []string{"http://one.invalid/", "http://two.invalid/"}},
		{"schedule changed to every 3 minutes", func() error {
			_, err := e.ctl.PutRule(ctx, sc, control.RuleInput{Name: "r", ScheduleExpression: ptr("rate(3 minutes)")})
			return err
		}, nil}, // minute 6: the anchor is still 09:59, so ticks are 10:08, 10:11
		{"", nil, nil},
		{"", nil, []string{"http://one.invalid/", "http://two.invalid/"}},
		{"deleted", func() error { return e.ctl.DeleteRule(ctx, sc, "", "r", true) }, nil},
		{"", nil, nil},
		{"", nil, nil},
		{"", nil, nil},
	}
	for i, st := range steps {
		if st.change != nil {
			if err := st.change(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		s.step(minute(i + 1))
		// The round's tasks are stored by the time it ends, but a loaded
		// machine may make the consumer see the last of them a moment later.
		fetched := e.tasks()
		for deadline := time.Now().Add(3 * time.Second); len(fetched) < len(st.want) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			fetched = append(fetched, e.tasks()...)
		}
		var got []string
		for _, f := range fetched {
			if f.Time != minute(i+1).Format(time.RFC3339) {
				t.Errorf("minute %d (%s): task of tick %s", i+1, st.name, f.Time)
			}
			got = append(got, f.Target)
		}
		sort.Strings(got)
		if fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Errorf("minute %d (%s): targets %v, want %v", i+1, st.name, got, st.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestNoCatchUp: after an outage the scheduler fires no backlog of missed
// ticks; a tick whose minute is still running is fired (late), once.
func TestNoCatchUp(t *testing.T) {
	t0 := ts("2027-03-10T10:00:00Z")
	cases := []struct {
		name, expr string
		down, up   time.Time // the last round before, the first after
		want       []string  // ticks fired from up to up+3 minutes
	}{
		{"minutely, down 3 days", "rate(1 minute)", t0, t0.Add(72*time.Hour + 20*time.Second),
			[]string{"2027-03-13T10:00:00Z", "2027-03-13T10:01:00Z", "2027-03-13T10:02:00Z", "2027-03-13T10:03:00Z"}},
		{"hourly, down 5 hours", "rate(1 hour)", t0, t0.Add(5*time.Hour + 7*time.Minute + 20*time.Second), nil},
		{"hourly, back within the tick's minute", "rate(1 hour)", t0.Add(-time.Minute), t0.Add(40 * time.Second),
			[]string{"2027-03-10T10:00:00Z"}},
		{"hourly, back just after the tick's minute", "rate(1 hour)", t0.Add(-time.Minute), t0.Add(61 * time.Second), nil},
		{"daily cron, down a week", "cron(0 10 * * ? *)", t0, t0.Add(7*24*time.Hour + 30*time.Minute), nil},
		{"already fired before the restart", "rate(1 hour)", t0, t0.Add(30 * time.Second), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.putRule("r", c.expr, t0.Add(-24*time.Hour), "http://r.invalid/")
			s := e.start(c.down)
			s.stop()
			e.tasks()
			s = e.start(c.up)
			next := c.up.Truncate(time.Minute)
			for i := 0; i < 3; i++ {
				next = next.Add(time.Minute)
				s.step(next)
			}
			got := ticksOf(e.tasks())["r"]
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("fired %v, want %v", got, c.want)
			}
		})
	}
}

// TestCrashBetweenPublishAndClaim: a tick whose tasks were stored but whose
// claim was not (the process died in between) is fired again by the
// restart, and the duplicate task is discarded by its message id.
func TestCrashBetweenPublishAndClaim(t *testing.T) {
	e := newEnv(t)
	t0 := ts("2027-03-10T10:00:00Z")
	e.putRule("r", "rate(1 hour)", t0.Add(-24*time.Hour), "http://r.invalid/")
	r, _ := e.view.Rule(sc, control.DefaultBus, "r")
	s := New(e.st, e.view, slog.New(slog.NewTextHandler(io.Discard, nil)))
	id := eventID(r.ARN(), t0)
	if err := s.publish(context.Background(), r, id, t0, true); err != nil {
		t.Fatal(err)
	}
	s2 := e.start(t0.Add(20 * time.Second))
	fs := e.tasks()
	if len(fs) != 1 {
		t.Fatalf("%d tasks, want 1: %v", len(fs), fs)
	}
	if s2.claimed != 1 {
		t.Errorf("the restart claimed %d ticks, want 1", s2.claimed)
	}
}

// TestOneClaimPerTick races two schedulers (as two processes would) on one
// store for an hour of ticks of several rules: each tick is claimed once
// and stored once.
func TestOneClaimPerTick(t *testing.T) {
	e := newEnv(t)
	t0 := ts("2027-09-01T00:00:00Z")
	const rules, minutes = 20, 60
	for i := 0; i < rules; i++ {
		e.putRule(fmt.Sprintf("r%02d", i), "rate(1 minute)", t0.Add(-time.Hour), "http://x.invalid/", "http://y.invalid/")
	}
	a, b := e.start(t0), e.start(t0)
	// Each claims the ticks of its start that the other has not.
	for m := 1; m <= minutes; m++ {
		now := t0.Add(time.Duration(m) * time.Minute)
		a.clock.Set(now)
		b.clock.Set(now)
		a.await(now)
		b.await(now)
	}
	fs := e.tasks()
	perTick := map[string]int{}
	for _, f := range fs {
		perTick[f.Rule+" "+f.Time+" "+f.Target]++
	}
	for k, n := range perTick {
		if n != 1 {
			t.Errorf("%s stored %d times", k, n)
		}
	}
	want := rules * (minutes + 1) // the ticks at t0 too
	if len(perTick) != 2*want {
		t.Errorf("%d tasks, want %d", len(perTick), 2*want)
	}
	if a.claimed+b.claimed != int64(want) {
		t.Errorf("claims: %d + %d, want %d in all", a.claimed, b.claimed, want)
	}
	t.Logf("claims won: %d and %d; lost: %d and %d", a.claimed, b.claimed, a.lost, b.lost)
}

func TestFireNow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	t0 := ts("2027-03-10T10:00:00Z")
	e.putRule("sched", "cron(0 12 * * ? *)", t0.Add(-time.Hour), "http://a.invalid/")
	if _, err := e.ctl.PutRule(ctx, sc, control.RuleInput{Name: "pattern", EventPattern: ptr(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ctl.PutRule(ctx, sc, control.RuleInput{Name: "off", ScheduleExpression: ptr("rate(1 day)"), State: ptr(control.StateDisabled)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ctl.PutTargets(ctx, sc, "", "off", []control.Target{{Id: "a", Arn: "http://off.invalid/"}}); err != nil {
		t.Fatal(err)
	}
	s := New(e.st, e.view, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.clock = &fakeClock{now: ts("2027-03-10T10:17:42.5Z")}
	cases := []struct {
		rule, bus string
		code      string // the error's code, or "" for a firing
	}{
		{"sched", "", ""},
		{"sched", "default", ""},
		{"off", "", ""}, // disabled rules can be fired by hand
		{"pattern", "", awserr.CodeValidation},
		{"missing", "", awserr.CodeResourceNotFound},
		{"sched", "other-bus", awserr.CodeResourceNotFound},
	}
	for _, c := range cases {
		f, err := s.FireNow(ctx, sc, c.bus, c.rule)
		var ae *awserr.Error
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %v", c.rule, err)
		case c.code != "" && (!errors.As(err, &ae) || ae.Code != c.code):
			t.Errorf("%s on %q: err %v, want %s", c.rule, c.bus, err, c.code)
		case c.code == "":
			fs := e.tasks()
			// Due at once, not a tick task: a disabled rule fires too.
			if len(fs) != 1 || fs[0].ID != f.EventID || fs[0].Time != "2027-03-10T10:17:42Z" || fs[0].Due != "" || !f.Time.Equal(ts("2027-03-10T10:17:42Z")) || f.Targets != 1 {
				t.Errorf("%s: tasks %v, want one of event %+v at 10:17:42", c.rule, fs, f)
			}
		}
	}
}

// TestTicksStoredAhead: a round stageLead before a minute boundary stores
// and claims that boundary's ticks, as tasks due at the tick; the round at
// the boundary fires only the ticks of rules that appeared in between.
func TestTicksStoredAhead(t *testing.T) {
	e := newEnv(t)
	t0 := ts("2027-05-05T10:00:00Z")
	e.putRule("early", "rate(1 minute)", t0.Add(-time.Hour), "http://a.invalid/")
	s := e.start(t0.Add(5 * time.Second))
	if got := e.tasks(); len(got) != 1 || got[0].Time != "2027-05-05T10:00:00Z" || got[0].Due != "2027-05-05T10:00:00Z" {
		t.Fatalf("start within the 10:00 tick's minute: %+v, want the 10:00 tick", got)
	}
	ahead := t0.Add(time.Minute - stageLead)
	s.step(ahead)
	got := e.tasks()
	if len(got) != 1 || got[0].Rule != "early" || got[0].Time != "2027-05-05T10:01:00Z" || got[0].Due != "2027-05-05T10:01:00Z" {
		t.Fatalf("round at %s: %+v, want the 10:01 tick of early, due at 10:01", ahead.Format(time.TimeOnly), got)
	}
	if s.claimed != 2 {
		t.Errorf("claimed %d ticks, want 2 (10:00 and, ahead, 10:01)", s.claimed)
	}
	// A rule that appears after the early round fires at the boundary.
	e.putRule("late", "cron(* * * * ? *)", ahead.Add(3*time.Second), "http://b.invalid/")
	s.step(t0.Add(time.Minute))
	got = e.tasks()
	if len(got) != 1 || got[0].Rule != "late" || got[0].Time != "2027-05-05T10:01:00Z" {
		t.Fatalf("round at the boundary: %+v, want only the 10:01 tick of late", got)
	}
}

// TestStillScheduled: a tick task stored ahead is delivered at the tick
// only if its rule, as of the tick, still fires its target.
func TestStillScheduled(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := New(e.st, e.view, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t0 := ts("2027-05-05T10:00:00Z")
	e.putRule("r", "rate(1 minute)", t0, "http://a.invalid/", "http://b.invalid/")
	r, _ := e.view.Rule(sc, control.DefaultBus, "r")
	task := func(id, arn string) *match.Task {
		return &match.Task{RuleArn: r.ARN(), RuleName: "r", Target: control.Target{Id: id, Arn: arn}}
	}
	steps := []struct {
		name   string
		change func() error
		task   *match.Task
		want   bool
	}{
		{"as staged", nil, task("t0", "http://a.invalid/"), true},
		{"unknown target", nil, task("t9", "http://a.invalid/"), false},
		{"target now elsewhere", func() error {
			_, err := e.ctl.PutTargets(ctx, sc, "", "r", []control.Target{{Id: "t0", Arn: "http://c.invalid/"}})
			return err
		}, task("t0", "http://a.invalid/"), false},
		{"other target unchanged", nil, task("t1", "http://b.invalid/"), true},
		{"disabled", func() error { return e.ctl.SetRuleState(ctx, sc, "", "r", control.StateDisabled) }, task("t1", "http://b.invalid/"), false},
		{"enabled again", func() error { return e.ctl.SetRuleState(ctx, sc, "", "r", control.StateEnabled) }, task("t1", "http://b.invalid/"), true},
		{"other bus's rule", nil, &match.Task{RuleArn: "arn:aws:events:eu-west-1:123456789012:rule/x/r", RuleName: "r", Target: control.Target{Id: "t1", Arn: "http://b.invalid/"}}, false},
		{"deleted", func() error { return e.ctl.DeleteRule(ctx, sc, "", "r", true) }, task("t1", "http://b.invalid/"), false},
	}
	for _, st := range steps {
		if st.change != nil {
			if err := st.change(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		if got := s.StillScheduled(sc, control.DefaultBus, st.task); got != st.want {
			t.Errorf("%s: StillScheduled = %v, want %v", st.name, got, st.want)
		}
	}
}
