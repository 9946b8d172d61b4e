// Package runtime runs function apps inside `lapis start`: it is the platform service "functions".
//
// It registers the Microsoft.Web resource types (package webapp) with the management API, watches the sites
// and plans in the resource store, and keeps one Functions host (package host) serving each running site's
// active deployment, with the scale policy of its plan:
//
//	Consumption (Y1)       0..functionAppScaleLimit (default 200) instances, scale to zero when idle
//	Flex Consumption (FC1) alwaysReady..maximumInstanceCount (default 100), scale to zero when idle
//	Premium (EP1-EP3)      plan minimum (always ready) + 1 pre-warmed .. maximumElasticWorkerCount
//	Dedicated (B, S, P)    exactly the plan's number of workers
//
// An instance idle for LAPIS_SCALE_IDLE_TIMEOUT (an app setting, hh:mm:ss or a Go duration; default
// DefaultIdleTimeout, 5 minutes) is stopped down to the plan's minimum, so on the consumption plans the next
// request is a cold start. functionTimeout defaults to 5 minutes (at most 10) on Consumption and to 30 minutes
// (unbounded allowed) elsewhere.
//
// # Deployments
//
// A zip deployment is unpacked below DataDir/functions/apps/{site}/{deployment} (a node-local cache: the
// package itself lives in the substrate, so any node can unpack it) and loaded once to validate it and learn
// its functions (Prepare). When the site's record names it as active, a new host starts on it, and only when
// it is ready do requests switch to it; the old host then drains: invocations in flight finish on the old
// version. A change of app settings, keys, plan or a restart swaps hosts the same way; stopping the site
// drains and stops its host.
//
// # Front door
//
// The service's port (default 7071) serves every app's HTTP functions by host name: {app}.localhost:7071 (any
// host whose first label is the app's name). A stopped app answers 403, an unknown one 404.
//
// # Logs and meters
//
// Every host's log lines (invocations, worker output, scale decisions) go to the server log and, as JSON
// webapp.LogLine values, to the core NATS subject webapp.LogSubject(site), which `functionapp logs tail`
// streams from any node. Each invocation's meter record (package metering) is added to Prometheus metrics on
// /metrics and, every few seconds, merged into the site's usage in the substrate, where `functionapp usage
// show` reads it; nothing metered is lost across a restart beyond the last unflushed seconds.
package runtime
