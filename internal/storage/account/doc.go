// Package account owns the Microsoft.Storage/storageAccounts resource type:
// name rules, Azure's defaults and read-only properties, the two account
// keys (listKeys, regenerateKey), checkNameAvailability, and the data-plane
// endpoints shown in primaryEndpoints. The Blob and Queue services read
// accounts and their keys from the resource store.
package account
