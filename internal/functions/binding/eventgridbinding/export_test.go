package eventgridbinding

// HTTPClient is the client the output publishes with, which reaches .localhost names; the end-to-end test calls
// the app's {app}.localhost front door with it.
var HTTPClient = client
