// Package pattern is a standalone implementation of Amazon EventBridge event
// patterns: Parse validates a pattern the way EventBridge does (same
// rejections, same InvalidEventPatternException reasons) and produces its
// parsed form, and a Matcher decides which patterns an event matches.
//
// The package depends on nothing but the standard library so that it can be
// used outside the Switchyard server, for instance to check patterns offline
// or to filter events in tests with the exact semantics a rule will have.
//
// Semantics follow AWS rather than intuition where the two differ; the
// conformance cases under testdata/conformance record each such decision
// together with the documentation example it comes from.
package pattern
