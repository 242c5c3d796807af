package pattern

import (
	"bytes"
	"strings"
)

// Field names with dots.
//
// EventBridge names a field by joining the keys on the way to it with dots,
// both when it compiles a pattern and when it reads an event, and then
// compares the joined names. So a key that holds a dot reads as a path:
// the patterns {"detail":{"state.status":["running"]}} and
// {"detail":{"state":{"status":["running"]}}} are the same pattern, and
// each matches both {"detail":{"state":{"status":"running"}}} and
// {"detail":{"state.status":"running"}}. Sources:
//
//   - EventBridge User Guide, "Event pattern syntax", section
//     "Considerations when creating event patterns": "when EventBridge
//     compiles event patterns for use, it uses dot (.) as the joining
//     character", with the two patterns and two events above
//     (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html).
//   - aws/event-ruler, the open-source engine, README.md, "Caveat: Compiled
//     rules and JSON keys with dots" (the same example), and
//     GenericMachine.isFieldStepUsed, which splits an event's key at its
//     dots so that {"a.b":[123]} and {"a":{"b":[123]}} both match.
//
// Joined names compare equal exactly when the keys split at every dot give
// equal sequences (the joining dots are the separators of the split), so
// Switchyard splits instead of joining: a pattern's path is its keys split
// at their dots (Field.Path), and the scanner follows an event key that
// holds dots through as many levels of the path automaton. Consequences,
// each as with joined names: "a..b", "a.", ".a" and "" split into empty
// parts that only an equally spelled key or an empty key meets; a path
// reached through both spellings in one event has the values of both (as
// if they were the elements of one array); exists and anything-but see
// those values like any others.

// appendSplit appends the parts of the field name key, split at its dots,
// to path.
func appendSplit(path []string, key string) []string {
	for {
		i := strings.IndexByte(key, '.')
		if i < 0 {
			return append(path, key)
		}
		path = append(path, key[:i])
		key = key[i+1:]
	}
}

// dotted returns the node that an event key holding dots leads to from n,
// reading each dot as a step down one level, or nil if the key holds no dot
// or leads nowhere a pattern uses.
func (n *pathNode) dotted(key []byte) *pathNode {
	dot := bytes.IndexByte(key, '.')
	if dot < 0 {
		return nil
	}
	for n != nil {
		n, _ = n.child(key[:dot])
		key = key[dot+1:]
		if dot = bytes.IndexByte(key, '.'); dot < 0 {
			n, _ = n.child(key)
			return n
		}
	}
	return nil
}
