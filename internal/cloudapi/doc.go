// Package cloudapi is the sandbox's stand-in for the Yandex Cloud HTTP APIs its machines
// and pghac call: the metadata service and Lockbox's payload and addVersion (with the
// operation service's Get), in their documented shapes (internal/lockbox's types). The same
// node script and the same internal/lockbox client therefore run against the sandbox and
// the cloud; only the endpoints differ.
//
// Identity is modelled on the cloud's, with the sandbox's means:
//
//   - A machine is known by its address on the sandbox's bridge. The sandbox registers it
//     (RegisterMachine) with its metadata attributes when it boots it; the handlers read
//     the registration at request time, so the daemon needs no restart.
//   - The metadata service answers a machine only if the request carries
//     "Metadata-Flavor: Google" (403 otherwise, as in the cloud), and gives it a token of
//     the node service account bound to its address: "sandbox-node.<expiry>.<HMAC>", where
//     the HMAC (SHA-256, key in token-key) covers the address and the expiry. A token
//     copied to another machine does not verify there.
//   - A node token may read the payload of the secrets named in its machine's attribute
//     SecretIDAttribute and nothing else: the node service account's
//     lockbox.payloadViewer role on that one secret. It may not add versions.
//   - The operator token (operator-token, read by pghac on the host through OperatorToken)
//     may read payloads and add versions, as the operator's account does in the cloud.
//
// State lives in one directory (mode 0700), so that a restarted daemon serves what the old
// one did:
//
//	operator-token          the operator's bearer token (0600), made on first start
//	token-key               the HMAC key of node tokens (0600), made on first start
//	secrets/<id>.json       every version of a secret (0600), replaced atomically
//	machines/<addr>.json    a machine's metadata attributes, a JSON object of strings (0600)
//
// Operations are kept in memory only: every addVersion is done when it answers, so a
// client never has to come back for one after a restart.
//
// Values and tokens never reach a log line or an error message; keys, secret ids, version
// ids and addresses may.
package cloudapi
