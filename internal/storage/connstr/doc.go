// Package connstr parses Azure Storage connection strings, including the
// UseDevelopmentStorage=true shorthand that the Azure SDK for Go does not
// understand, into an account, a key and service endpoints.
package connstr
