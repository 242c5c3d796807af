package archive

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control"
)

// TestReplayStates runs the replay worker on real JetStream through each
// of the ends DescribeReplay shows ("Replay", EventBridge API Reference:
// STARTING | RUNNING | CANCELLING | COMPLETED | CANCELLED | FAILED): a
// replay that runs to its end is COMPLETED; one cancelled before a worker
// took it goes CANCELLING, then CANCELLED; one whose archive was deleted
// under it is FAILED with the reason in StateReason. Each that ended has
// its ReplayEndTime.
func TestReplayStates(t *testing.T) {
	e := newEnv(t)
	a := e.archive(t, 0)
	sc := a.Scope
	e.put(t, a, "e1", 3)
	b, err := e.ctl.CreateArchive(context.Background(), sc, control.ArchiveInput{Name: "b", EventSourceArn: control.BusARN(sc, "default")})
	if err != nil {
		t.Fatal(err)
	}
	e.put(t, b, "e2", 1)
	t0 := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	start := func(name string, arc *control.Archive) {
		t.Helper()
		r, err := e.ctl.StartReplay(context.Background(), sc, control.ReplayInput{Name: name, EventSourceArn: arc.ARN(),
			EventStartTime: t0, EventEndTime: t0.Add(48 * time.Hour), DestinationArn: control.BusARN(sc, "default")})
		if err != nil || r.State != control.ReplayStarting {
			t.Fatalf("StartReplay %s: %v %+v", name, err, r)
		}
	}
	start("done", a)
	start("cancelled", a)
	start("failed", b)
	if r, err := e.ctl.CancelReplay(context.Background(), sc, "cancelled"); err != nil || r.State != control.ReplayCancelling {
		t.Fatalf("CancelReplay: %v %+v", err, r)
	}
	if err := e.ctl.DeleteArchive(context.Background(), sc, "b"); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- (&Replayer{JS: e.st.JS, Ctl: e.ctl, View: e.ctl.View(), Log: e.log}).Run(ctx)
	}()
	for _, want := range []struct{ name, state, reason string }{
		{"done", control.ReplayCompleted, ""},
		{"cancelled", control.ReplayCancelled, ""},
		{"failed", control.ReplayFailed, "Archive b was deleted."},
	} {
		var r *control.Replay
		deadline := time.Now().Add(20 * time.Second)
		for {
			r, err = e.ctl.DescribeReplay(context.Background(), sc, want.name)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Active() || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if r.State != want.state || r.StateReason != want.reason || r.ReplayEndTime.IsZero() || r.ReplayEndTime.Before(r.ReplayStartTime) {
			t.Errorf("replay %s: state %s reason %q end %v, want %s %q and an end time", want.name, r.State, r.StateReason, r.ReplayEndTime,
				want.state, want.reason)
		}
	}
	if r, _ := e.ctl.DescribeReplay(context.Background(), sc, "done"); r.Replayed != 3 || !r.EventLastReplayedTime.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("completed replay: %d events replayed, last at %v; want 3 at 2026-01-01", r.Replayed, r.EventLastReplayedTime)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
