// Package account owns the Microsoft.DocumentDB/databaseAccounts resource
// type, the Cosmos DB accounts of Lapis's document store: name rules,
// Azure's defaults and read-only properties, the four account keys
// (listKeys, readonlykeys, regenerateKey), listConnectionStrings, and the
// documentEndpoint shown on GET.
//
// Each account is served on its own host name, {account}.localhost, on the
// document store's port (DefaultPort, 8081, the Cosmos DB emulator's), so
// account names are globally unique: the name is the endpoint's host label.
// Plain localhost is the built-in account EmulatorAccount, whose key is the
// emulator's well-known EmulatorKey; no created account can take its name.
//
// The service that runs the document store registers the type (a *Type with
// its Endpoint) and uses a Directory to authenticate data-plane requests:
// AccountFromHost names the account a request's Host header addresses, and
// Directory.Keys gives that account's read-write and read-only keys.
package account
