package schema

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Error codes of rejected publishes. The top-level code is the name of the
// HTTP status, as Azure writes it; the detail code says what was wrong.
const (
	CodeBadRequest            = "BadRequest"
	CodeRequestEntityTooLarge = "RequestEntityTooLarge"

	// DetailInputJSONInvalid is Azure's detail code for a body that is not
	// valid for the topic's input schema.
	DetailInputJSONInvalid = "InputJsonInvalid"
	// DetailInputSchemaNotSupported: the topic's input schema is one Lapis
	// does not implement (CustomEventSchema). Lapis's own code.
	DetailInputSchemaNotSupported = "InputSchemaNotSupported"
	// DetailRequestTooLarge and DetailEventTooLarge go with 413. Lapis's own
	// codes: Azure's detail codes for 413 are not in the reference notes.
	DetailRequestTooLarge = "RequestTooLarge"
	DetailEventTooLarge   = "EventTooLarge"
)

// Error is a rejected publish in Azure's shape. It marshals to
//
//	{"error":{"code":"BadRequest","message":"...","details":[{"code":"InputJsonInvalid","message":"..."}]}}
type Error struct {
	Status  int
	Code    string
	Message string
	Details []Detail
	// Report, when set, is appended to the top-level message as Azure
	// does: " Report '<Report>' to our forums for assistance or raise a
	// support ticket." See [ReportID].
	Report string
}

// Detail is one entry of an error's details.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("eventgrid: %d %s: %s", e.Status, e.Code, e.Message)
}

// FullMessage is the top-level message with the report suffix, if any.
func (e *Error) FullMessage() string {
	if e.Report == "" {
		return e.Message
	}
	return e.Message + " Report '" + e.Report + "' to our forums for assistance or raise a support ticket."
}

type errorBody struct {
	Error struct {
		Code    string   `json:"code"`
		Message string   `json:"message"`
		Details []Detail `json:"details,omitempty"`
	} `json:"error"`
}

// MarshalJSON writes Azure's error body.
func (e *Error) MarshalJSON() ([]byte, error) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Details = e.Code, e.FullMessage(), e.Details
	return json.Marshal(b)
}

// UnmarshalJSON reads Azure's error body (the status is not in it).
func (e *Error) UnmarshalJSON(data []byte) error {
	var b errorBody
	if err := json.Unmarshal(data, &b); err != nil {
		return err
	}
	e.Code, e.Message, e.Details = b.Error.Code, b.Error.Message, b.Error.Details
	return nil
}

// Write sends the error as an HTTP response.
func (e *Error) Write(w http.ResponseWriter) {
	body, _ := e.MarshalJSON()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// ReportID formats Azure's report reference, "<id>:<n>:<M/D/YYYY h:mm:ss PM> (UTC)",
// as seen in Azure's publish errors.
func ReportID(id string, n int, t time.Time) string {
	return fmt.Sprintf("%s:%d:%s (UTC)", id, n, t.UTC().Format("1/2/2006 3:04:05 PM"))
}

// badRequest is a 400 whose message and single detail say the same thing.
func badRequest(detail, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: msg,
		Details: []Detail{{Code: detail, Message: msg}}}
}

func invalid(format string, args ...any) *Error {
	return badRequest(DetailInputJSONInvalid, format, args...)
}

func tooLarge(detail, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeRequestEntityTooLarge, Message: msg,
		Details: []Detail{{Code: detail, Message: msg}}}
}

// Messages. Those marked "Azure" are Azure's wording as seen in Azure's
// responses; the others are Lapis's, in Azure's style.
const (
	// Azure (seen in a 2020 publish error quoted in arcus-azure/arcus.eventgrid#145).
	msgUnexpectedToken = "Unexpected token when reading JSON. Expected: %s, actual: %s."
	// Azure-style.
	msgWrongSchema   = "This resource is configured to receive event in '%s' schema. The JSON received does not conform to the expected schema. %s"
	msgRequired      = "Required property '%s' was not set."
	msgRequiredHdr   = "Required header '%s' was not set."
	msgNotString     = "Property '%s' must be a string, but was %s."
	msgEventTime     = "The event time property '%s' was not a valid date/time."
	msgTopic         = "Property 'topic' was found to be set to '%s', but was expected to either be null or be set to the ARM resource id of the Event Grid topic '%s'."
	msgMetadata      = "Property 'metadataVersion' was found to be set to '%s', but was expected to either be null or be set to '1'."
	msgSpecVersion   = "Property 'specversion' was found to be set to '%s', but the only supported value is '1.0'."
	msgBadJSON       = "The request body is not valid JSON: %s."
	msgNotUTF8       = "The request body is not valid UTF-8."
	msgExtName       = "Extension attribute name '%s' is not valid: names are 1 to 20 lower-case letters a-z or digits 0-9."
	msgExtValue      = "Extension attribute '%s' must be a string, a number or a boolean, but was %s."
	msgDataBoth      = "Properties 'data' and 'data_base64' cannot both be set."
	msgDataBase64    = "Property 'data_base64' is not valid base64."
	msgDataSchema    = "Property 'dataschema' must be an absolute URI, but was '%s'."
	msgHeaderValue   = "Header '%s' is not valid: %s."
	msgRequestSize   = "The request body exceeds the maximum size of %d bytes."
	msgEventSize     = "Event %d of the request is %d bytes; the maximum size of an event is %d bytes."
	msgCustomSchema  = "The topic's input schema is CustomEventSchema, which Lapis does not support; use EventGridSchema or CloudEventSchemaV1_0."
	msgUnknownSchema = "The topic's input schema (%d) is not known."
)
