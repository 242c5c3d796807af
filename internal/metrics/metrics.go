// Package metrics holds the per-rule and per-target counters Switchyard
// exports on /metrics under EventBridge's own metric names (AWS/Events in
// CloudWatch), so that dashboards and alarms written for AWS translate
// one to one. They live here rather than in match or deliver because both
// count into them.
//
// Every series carries the account, region, bus and rule it is about;
// target metrics also carry the target kind (see deliver.Kind): "http",
// "sqs", "event-bus", ..., and the target's Id within its rule (at most 5
// a rule by default, so the label adds few series).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	ruleLabels   = []string{"account", "region", "bus", "rule"}
	targetLabels = []string{"account", "region", "bus", "rule", "kind", "target"}
)

func ruleCounter(name, help string) *prometheus.CounterVec {
	return promauto.NewCounterVec(prometheus.CounterOpts{Namespace: "switchyard", Name: name + "_total", Help: help}, ruleLabels)
}

func targetCounter(name, help string) *prometheus.CounterVec {
	return promauto.NewCounterVec(prometheus.CounterOpts{Namespace: "switchyard", Name: name + "_total", Help: help}, targetLabels)
}

// Rule metrics, counted by the matcher.
var (
	MatchedEvents = ruleCounter("MatchedEvents", "Events that matched the rule.")
	// TriggeredRules counts, per rule, the events that made it run (AWS
	// counts rule runs; a rule runs once per matched event).
	TriggeredRules = ruleCounter("TriggeredRules", "Times the rule ran in response to a matched event.")
)

// Target metrics, counted by the deliverer. An invocation is one (event,
// rule, target) task; an attempt is one call of the target.
var (
	Invocations = targetCounter("Invocations",
		"Tasks that reached an outcome: delivered, or given up by the retry policy (retried attempts are not counted until the task ends).")
	FailedInvocations = targetCounter("FailedInvocations",
		"Tasks given up: a permanent error, or retries exhausted (MaximumRetryAttempts or MaximumEventAgeInSeconds).")
	InvocationAttempts             = targetCounter("InvocationAttempts", "Calls of the target, retries included.")
	SuccessfulInvocationAttempts   = targetCounter("SuccessfulInvocationAttempts", "Calls of the target that it accepted.")
	RetryInvocationAttempts        = targetCounter("RetryInvocationAttempts", "Calls of the target that were retries of an earlier failed call.")
	DeadLetterInvocations          = targetCounter("DeadLetterInvocations", "Given-up tasks routed to the target's dead-letter queue instead of the target.")
	InvocationsSentToDlq           = targetCounter("InvocationsSentToDlq", "Given-up tasks stored in the dead-letter queue.")
	InvocationsFailedToBeSentToDlq = targetCounter("InvocationsFailedToBeSentToDlq",
		"Failed attempts to store a given-up task in the dead-letter queue (each is retried; the event is not dropped).")
	DroppedEvents = targetCounter("DroppedEvents", "Given-up tasks of targets without a dead-letter queue: the event is dropped, as AWS does.")
)

// Latency buckets from a millisecond (the loopback data path) to a day
// (the longest retry policy).
var latencyBuckets = []float64{.001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400}

var (
	// IngestionToInvocationStartLatency is AWS's metric of the same name:
	// from PutEvents accepting the event to the start of the first call of
	// the target. Labelled without the rule to keep the series count low.
	IngestionToInvocationStartLatency = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "switchyard", Name: "IngestionToInvocationStartLatency_seconds", Buckets: latencyBuckets,
		Help: "From the event's acceptance by PutEvents to the start of the first call of each target.",
	}, []string{"account", "region", "bus", "kind"})
	// IngestionToInvocationSuccessLatency runs to the successful call,
	// retries and their backoff included.
	IngestionToInvocationSuccessLatency = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "switchyard", Name: "IngestionToInvocationSuccessLatency_seconds", Buckets: latencyBuckets,
		Help: "From the event's acceptance by PutEvents to the target's acceptance, retries included.",
	}, []string{"account", "region", "bus", "kind"})
)
