package schemas

import (
	"fmt"
	"net/http"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/restapi"
)

// The Schemas API's errors carry their code twice: as the x-amzn-ErrorType
// header and as the body's "Code" member beside "Message" (every error
// shape of the model, schemas 2019-12-02, has both members).
func apiErr(status int, code, format string, args ...any) error {
	return &restapi.FieldError{
		Err:    &awserr.Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status},
		Fields: map[string]any{"Code": code},
	}
}

func badRequest(format string, args ...any) error {
	return apiErr(http.StatusBadRequest, "BadRequestException", format, args...)
}

func notFound(format string, args ...any) error {
	return apiErr(http.StatusNotFound, "NotFoundException", format, args...)
}

func conflict(format string, args ...any) error {
	return apiErr(http.StatusConflict, "ConflictException", format, args...)
}

func forbidden(format string, args ...any) error {
	return apiErr(http.StatusForbidden, "ForbiddenException", format, args...)
}

func preconditionFailed(format string, args ...any) error {
	return apiErr(http.StatusPreconditionFailed, "PreconditionFailedException", format, args...)
}

func unavailable() error {
	return apiErr(http.StatusServiceUnavailable, "ServiceUnavailableException", "The service is temporarily unavailable. Please retry.")
}
