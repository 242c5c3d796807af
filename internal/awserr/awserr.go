// Package awserr defines the errors Switchyard answers with: an AWS error code,
// a message and an HTTP status, exactly as the AWS JSON 1.1 protocol carries
// them ({"__type": code, "message": msg}). Every layer behind the API returns
// these so that SDKs raise their typed exceptions.
package awserr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an AWS-shaped API error.
type Error struct {
	Code    string // e.g. "ResourceNotFoundException"
	Message string
	Status  int // HTTP status; 400 for client errors
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New returns a client error (HTTP 400) with the given code.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// The error codes of the EventBridge API, as its model names them.
const (
	CodeValidation             = "ValidationException"
	CodeResourceNotFound       = "ResourceNotFoundException"
	CodeResourceAlreadyExists  = "ResourceAlreadyExistsException"
	CodeLimitExceeded          = "LimitExceededException"
	CodeInvalidEventPattern    = "InvalidEventPatternException"
	CodeConcurrentModification = "ConcurrentModificationException"
	CodeManagedRule            = "ManagedRuleException"
	CodeInternal               = "InternalException"
	CodeSerialization          = "SerializationException"
	CodeUnknownOperation       = "UnknownOperationException"
	CodeOperationDisabled      = "OperationDisabledException"
	CodeInvalidState           = "InvalidStateException"
	// CodeServiceUnavailable is not in EventBridge's model, but every SDK
	// retries its HTTP 503 (see Unavailable).
	CodeServiceUnavailable = "ServiceUnavailableException"
)

// Validation returns a ValidationException.
func Validation(format string, args ...any) *Error { return New(CodeValidation, format, args...) }

// NotFound returns a ResourceNotFoundException.
func NotFound(format string, args ...any) *Error { return New(CodeResourceNotFound, format, args...) }

// Internal wraps an unexpected failure as AWS's InternalException (HTTP 500).
// The cause is not shown to the caller; log it where it happens.
func Internal() *Error {
	return &Error{Code: CodeInternal, Message: "An internal error occurred. Please retry.", Status: http.StatusInternalServerError}
}

// Unavailable is a ServiceUnavailableException (HTTP 503): the request was
// not carried out because the service cannot do it for now — its storage
// is out of space, say — and may succeed if retried, as every AWS SDK
// does with a 503. Log the cause where it happens.
func Unavailable() *Error {
	return &Error{Code: CodeServiceUnavailable, Message: "The service is temporarily unable to store the request. Please retry.", Status: http.StatusServiceUnavailable}
}

// As reports whether err is (or wraps) an *Error and returns it.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
