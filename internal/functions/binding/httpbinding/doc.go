// Package httpbinding registers the "httpTrigger" trigger and the "http" output binding, and holds the
// conversions between an HTTP request or response and the custom-handler payload that the host's HTTP front
// door uses.
//
// function.json properties of httpTrigger: authLevel (anonymous, function, admin; default function), methods (an
// array of HTTP verbs, any case; absent means all), route (a route template, default the function name). The http
// output has no properties.
package httpbinding
