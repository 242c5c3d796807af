// Package stack is declarative configuration for EventBridge: a document
// listing event buses, rules with their targets, archives, connections and
// API destinations, read from Switchyard's own YAML or JSON form or from a
// CloudFormation template of AWS::Events::* resources, and a planner that
// compares such a document with what an EventBridge API holds and says
// what to create, update and delete, in an order the API accepts.
//
// The package has no server dependency: it reaches EventBridge through a
// Caller (one AWS JSON operation at a time), so the same code drives
// Switchyard, AWS itself, or a test's fake.
//
// Ownership: a stack marks what it creates, so that pruning never deletes
// what someone else made. Buses and rules, the resources EventBridge can
// tag, carry the tag ManagedByTag=<stack name>; archives, connections and
// API destinations, which EventBridge cannot tag, carry the marker
// "(switchyard:managed-by=<stack name>)" at the end of their description.
package stack
