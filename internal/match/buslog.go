package match

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/switchyard/switchyard/internal/archive"
	"github.com/switchyard/switchyard/internal/buslog"
	"github.com/switchyard/switchyard/internal/control"
)

// logRuleMatchStart emits RULE_MATCH_START, whose details are the event's
// ("Amazon EventBridge event bus log schema"); only at TRACE, so only
// then is the envelope decoded for them.
func logRuleMatchStart(bl buslog.Bus, id string, envelope []byte) {
	var e struct {
		Account    string          `json:"account"`
		Time       time.Time       `json:"time"`
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}
	_ = json.Unmarshal(envelope, &e) // checked on the way in
	d := &buslog.EventDetails{CallerAccountID: e.Account, SourceTimeMs: e.Time.UnixMilli(), Source: e.Source,
		DetailType: e.DetailType, Resources: e.Resources}
	if d.Resources == nil {
		d.Resources = []string{}
	}
	if bl.Full() {
		d.EventDetail = string(e.Detail)
	}
	bl.Emit(&buslog.Record{EventID: id, MessageType: buslog.RuleMatchStart, Details: d})
}

// logRuleMatches emits a RULE_MATCH per standard rule the event matched,
// with its targets and the ids of the invocations it starts, or
// NO_STANDARD_RULES_MATCHED when it matched none. The managed rules of
// archives are not standard rules; a replay's events count only the
// rules the replay names (only; all when nil).
func logRuleMatches(bl buslog.Bus, id string, rules []*control.Rule, replay bool, only []string) {
	n := 0
	for _, rule := range rules {
		if archive.IsArchiveRule(rule) {
			continue
		}
		arn := rule.ARN()
		if replay && only != nil && !slices.Contains(only, arn) {
			continue
		}
		n++
		if !bl.On(buslog.RuleMatch) {
			continue
		}
		d := &buslog.RuleMatchDetails{RuleArn: arn, TargetArns: make([]string, len(rule.Targets)),
			InvocationIDs: make([]string, len(rule.Targets))}
		for i := range rule.Targets {
			d.TargetArns[i] = rule.Targets[i].Arn
			d.InvocationIDs[i] = buslog.InvocationID(id, arn, rule.Targets[i].Id)
		}
		bl.Emit(&buslog.Record{EventID: id, MessageType: buslog.RuleMatch, Details: d})
	}
	if n == 0 {
		bl.Emit(&buslog.Record{EventID: id, MessageType: buslog.NoStandardRulesMatched})
	}
}
