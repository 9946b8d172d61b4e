// Package webapp owns function apps as resources: the Microsoft.Web/serverfarms (hosting plans) and
// Microsoft.Web/sites (function apps) resource types of the management API, and everything below a site that
// Azure serves there: app settings (config/appsettings), host, system and function keys (host/default/...,
// functions/{name}/keys), the function list with invoke URLs (functions), zip deployments
// (extensions/zipdeploy, deployments), the log stream (logstream) and the usage meter (usage, usages).
//
// A deployment creates the keys its functions need when the site lacks them: a "default" function key for each
// function called by URL, and the system key of each webhook trigger (Function.SystemKey, "eventgrid_extension"),
// which that function's invoke URL then carries as ?code=, so that it can be given to Event Grid as it is.
//
// It keeps, and only it writes:
//
//   - the site's record in the resource store: its public properties, and in Record.Secrets its keys
//     ("keys/..."), app settings ("settings/NAME"), active deployment ("deployment") and restart counter;
//   - deployment records in the KV bucket lapis-functions-deployments, keyed {site}.{deployment};
//   - deployment packages (the uploaded zip) in the object store lapis-functions-packages, named
//     {site}/{deployment}.zip.
//
// It reads the usage meter that the runtime writes to lapis-functions-usage, and relays the runtime's log lines
// published on lapis.functions.logs.{site}. Running apps is the runtime's job (package runtime), which reads the
// same records through Site and Watch; the two meet through the Runtime interface, so that this package does not
// import the runtime.
package webapp
