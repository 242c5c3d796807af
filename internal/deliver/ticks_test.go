package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/match"
)

// putTick stores the task of a scheduled rule's tick, as the scheduler
// does ahead of the tick.
func (e *env) putTick(rule string, target control.Target, id string, due time.Time) {
	e.t.Helper()
	ev := fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"Scheduled Event","source":"aws.events","account":%q,"time":"2024-01-01T00:00:00Z","region":%q,"resources":[],"detail":{}}`, id, acct, region)
	m, err := match.TickTaskMsg(control.Scope{Account: acct, Region: region}, "default", id, &match.Task{
		RuleArn: "arn:aws:events:" + region + ":" + acct + ":rule/" + rule, RuleName: rule,
		Target: target, Event: json.RawMessage(ev), Ingested: due.UnixMilli()}, due)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.JS.PublishMsg(context.Background(), m); err != nil {
		e.t.Fatal(err)
	}
}

// TestTickTasksHeldUntilDue: tick tasks stored ahead are called at their
// due time, not before and promptly after; one whose rule no longer fires
// its target by then is dropped, not called.
func TestTickTasksHeldUntilDue(t *testing.T) {
	e := start(t, 8, 100*time.Millisecond, "", func(d *Deliverer) {
		d.StillScheduled = func(_ control.Scope, _ string, t *match.Task) bool { return t.RuleName != "disabled" }
	})
	r := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 200, nil, 0 })
	due := time.Now().Add(1500 * time.Millisecond).Truncate(time.Millisecond)
	evs := ids("tick", 20)
	for _, id := range evs {
		e.putTick("minutely", control.Target{Id: "t", Arn: r.URL}, id, due)
	}
	e.putTick("disabled", control.Target{Id: "t", Arn: r.URL}, "dropped", due)
	calls := r.waitOK(t, evs, 10*time.Second)
	for _, id := range evs {
		at := calls[id][0]
		if at.Before(due) {
			t.Errorf("%s called %v before its tick", id, due.Sub(at))
		}
		if late := at.Sub(due); late > 500*time.Millisecond {
			t.Errorf("%s called %v after its tick", id, late)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if c, _ := r.snapshot(); len(c["dropped"]) != 0 {
		t.Error("the tick task of a rule that no longer fires its target was called")
	}
	if n := e.storedTasks(); n != 0 {
		t.Errorf("delivery stream holds %d messages after the tick, want 0", n)
	}
}
