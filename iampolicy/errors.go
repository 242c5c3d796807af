package iampolicy

// An Error reports a policy document that Parse refuses.
type Error struct {
	// Path locates the offending element, such as
	// "Statement[1].Condition.StringLike.events:source"; it is empty when
	// the document as a whole is at fault.
	Path string
	// Reason says what is wrong, such as `unknown condition operator
	// "StringMatches"`.
	Reason string
	// Err is the underlying error, if any (a JSON syntax error).
	Err error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }
