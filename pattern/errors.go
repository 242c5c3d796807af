package pattern

import (
	"fmt"
	"strconv"
)

// Error reports an event pattern that EventBridge would refuse. Its text is
// the message of AWS's InvalidEventPatternException, so that a server can
// hand it to clients unchanged.
type Error struct {
	// Reason is the part after "Reason: ", e.g. "Empty arrays are not
	// allowed". AWS appends the parser's source location to some reasons;
	// Switchyard leaves it out so that the text does not depend on layout.
	Reason string
}

func (e *Error) Error() string {
	return "Event pattern is not valid. Reason: " + e.Reason
}

func errorf(format string, args ...any) *Error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// LengthError reports a pattern longer than the configured maximum. AWS
// rejects such a pattern before parsing it, with a ValidationException
// rather than an InvalidEventPatternException, so it is a separate type that
// a server can map to that exception.
type LengthError struct {
	Length int // length of the pattern in UTF-16 code units, as AWS counts
	Max    int
}

func (e *LengthError) Error() string {
	return "1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: " +
		"Member must have length less than or equal to " + strconv.Itoa(e.Max)
}
