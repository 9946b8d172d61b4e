// Package wire holds what the Blob and Queue services share on the wire:
// Azure Storage's XML error body and x-ms-error-code header, the response
// headers every answer carries (x-ms-request-id, x-ms-version, Date), the
// RFC 1123 time format, and path-style URL parsing
// (http://127.0.0.1:10000/{account}/{container}/{blob}).
package wire
