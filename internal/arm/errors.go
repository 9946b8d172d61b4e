package arm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is an ARM error: an HTTP status and the body
// {"error":{"code","message"}}. Every error the API returns is one of these;
// any other error becomes 500 InternalServerError.
type Error struct {
	Status  int
	Code    string
	Message string
	Target  string
	Details []*Error
}

// Errorf makes an Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

type errorBody struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Target  string       `json:"target,omitempty"`
	Details []*errorBody `json:"details,omitempty"`
}

func (e *Error) body() *errorBody {
	b := &errorBody{Code: e.Code, Message: e.Message, Target: e.Target}
	for _, d := range e.Details {
		b.Details = append(b.Details, d.body())
	}
	return b
}

// MarshalJSON writes the ARM error envelope.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Error *errorBody `json:"error"`
	}{e.body()})
}

// AsError returns err as an *Error, turning anything else into 500.
func AsError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalServerError",
		Message: "The server encountered an internal error: " + err.Error()}
}

// Common errors, worded as ARM words them.

func errNotFoundGroup(name string) *Error {
	return Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", name)
}

func errNotFoundResource(typeName, name, group string) *Error {
	return Errorf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
		typeName, name, group)
}

func errInvalidContent(err error) *Error {
	return Errorf(http.StatusBadRequest, "InvalidRequestContent",
		"The request content was invalid and could not be deserialized: '%v'.", err)
}
