package docdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Error is a Cosmos DB error: an HTTP status, a code and a message, sent as
// {"code":"NotFound","message":"..."}, as Cosmos DB's gateway sends it.
// Every error the data plane and the Go API return is one of these, or
// wraps one; anything else becomes 500 InternalServerError.
type Error struct {
	Status int
	Code   string
	// SubStatus is Cosmos DB's x-ms-substatus, 0 if none.
	SubStatus int
	Message   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("docdb: %d %s: %s", e.Status, e.Code, e.Message)
}

// Is makes errors.Is(err, ErrNotFound) (or another sentinel below) true for
// every error with the sentinel's status and code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Status == e.Status && t.Code == e.Code
}

// Sentinels for errors.Is: an *Error matches one when its status and code
// are the sentinel's.
var (
	ErrNotFound           = &Error{Status: http.StatusNotFound, Code: "NotFound"}
	ErrConflict           = &Error{Status: http.StatusConflict, Code: "Conflict"}
	ErrPreconditionFailed = &Error{Status: http.StatusPreconditionFailed, Code: "PreconditionFailed"}
	ErrBadRequest         = &Error{Status: http.StatusBadRequest, Code: "BadRequest"}
)

// Error codes, as Cosmos DB names them in the body's "code".
const (
	codeBadRequest         = "BadRequest"
	codeUnauthorized       = "Unauthorized"
	codeForbidden          = "Forbidden"
	codeNotFound           = "NotFound"
	codeMethodNotAllowed   = "MethodNotAllowed"
	codeConflict           = "Conflict"
	codePreconditionFailed = "PreconditionFailed"
	codeTooLarge           = "RequestEntityTooLarge"
	codeInternal           = "InternalServerError"
)

func newError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, codeBadRequest, format, args...)
}

// Messages worded as Cosmos DB words them, where the Lapis notes have
// Azure's text.
const (
	msgNotFound      = "Entity with the specified id does not exist in the system. More info: https://aka.ms/cosmosdb-tsg-not-found"
	msgConflict      = "Entity with the specified id already exists in the system."
	msgPrecondition  = "Operation cannot be performed because one of the specified precondition is not met."
	msgTooLarge      = "Request size is too large"
	msgPKMismatch    = "PartitionKey extracted from document doesn't match the one specified in the header. Learn more: https://aka.ms/CosmosDB/sql/errors/wrong-pk-value"
	msgPKMissing     = "PartitionKey value must be supplied for this operation."
	msgCrossDisabled = "Cross partition query is required but disabled. Please set x-ms-documentdb-query-enablecrosspartition to true, specify x-ms-documentdb-partitionkey, or revise your query to avoid this exception."
)

func notFound() *Error {
	return newError(http.StatusNotFound, codeNotFound, "%s", msgNotFound)
}

// ownerNotFound is the 404 for an operation below a database or container
// that does not exist: Cosmos DB's substatus 1003, "owner resource does not
// exist".
func ownerNotFound(kind, id string) *Error {
	e := newError(http.StatusNotFound, codeNotFound, "Owner resource does not exist: the %s '%s' was not found.", kind, id)
	e.SubStatus = 1003
	return e
}

func conflict() *Error {
	return newError(http.StatusConflict, codeConflict, "%s", msgConflict)
}

func preconditionFailed() *Error {
	return newError(http.StatusPreconditionFailed, codePreconditionFailed, "%s", msgPrecondition)
}

// retryWith is Cosmos DB's 449: a write lost to concurrent ones too often;
// it is safe to retry.
func retryWith() *Error {
	return newError(449, "RetryWith", "The operation encountered a transient conflict with concurrent writes to the same items. It is safe to retry the operation.")
}

func tooLarge() *Error {
	return newError(http.StatusRequestEntityTooLarge, codeTooLarge, "%s", msgTooLarge)
}

// asError returns err as an *Error, turning anything else into 500.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return newError(http.StatusInternalServerError, codeInternal, "The server encountered an internal error: %v", err)
}

// gatewayVersion is what Lapis says it is in x-ms-gatewayversion and at the
// end of error messages, as Cosmos DB does.
const gatewayVersion = "2.14.0"

// writeError writes err in Cosmos DB's shape. Cosmos DB appends the
// activity id and its version to every message.
func writeError(w http.ResponseWriter, err error, activityID string) {
	e := asError(err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.SubStatus != 0 {
		h.Set("x-ms-substatus", strconv.Itoa(e.SubStatus))
	}
	h.Set("x-ms-request-charge", "1")
	msg := e.Message + "\r\nActivityId: " + activityID + ", Microsoft.Azure.Documents.Common/" + gatewayVersion
	b, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{e.Code, msg})
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
