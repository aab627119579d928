// Package lockbox is pghac's client of the Yandex Cloud HTTP APIs that carry a cluster's
// secrets: Lockbox (a secret's payload, and adding a version to it), the operation service
// (waiting for an added version), the compute metadata service (the token of a VM's service
// account) and IAM (an IAM token from an OAuth token). It also holds their wire types, so
// that internal/cloudapi, the sandbox's stand-in for these APIs, serves the same shapes.
//
// What it relies on, read from Yandex Cloud's API reference and its protos
// (yandex-cloud/cloudapi, yandex/cloud/lockbox/v1 and yandex/cloud/operation):
//
//   - Payload.Get: GET {payload}/lockbox/v1/secrets/{secretId}/payload[?versionId=]
//     answers {"versionId", "entries": [{"key", "textValue"|"binaryValue"}]}; binary values
//     are base64. Without versionId it is the secret's current version.
//   - Secret.AddVersion: POST {lockbox}/lockbox/v1/secrets/{secretId}:addVersion with
//     {"description", "payloadEntries", "baseVersionId"} answers an Operation whose metadata
//     is AddVersionMetadata and whose response is the new Version. payloadEntries are
//     changes to the base version (by default the current one), not the whole payload: a
//     key the request does not name keeps its value, and an entry with a key and no value
//     removes that key (yc lockbox secret add-version --payload says so). At most 32
//     entries, keys match [-_./\@0-9a-zA-Z]+ and are at most 256 characters, values at most
//     65536.
//   - Operation.Get: GET {operation}/operations/{operationId}. In the cloud the operation
//     service has its own endpoint (operation.api.cloud.yandex.net), not Lockbox's.
//   - Errors are google.rpc.Status as JSON, {"code", "message", "details"}, with the gRPC
//     code's HTTP status (5 NOT_FOUND 404, 7 PERMISSION_DENIED 403, 16 UNAUTHENTICATED 401).
//   - The metadata service (GCE-compatible) answers only requests carrying
//     "Metadata-Flavor: Google" (403 otherwise); .../service-accounts/default/token answers
//     {"access_token", "expires_in", "token_type"}, .../attributes/{key} the raw value.
//   - IAM: POST {iam}/iam/v1/tokens {"yandexPassportOauthToken"} answers {"iamToken",
//     "expiresAt"}; IAM tokens start with "t1.".
//
// Keys are not confidential (Lockbox's docs call them so); values and tokens are. No value
// and no token ever appears in an error this package returns: errors name the secret, the
// HTTP status and the API's code and message, and a message that quotes a value or token
// we sent is redacted before it is returned. Entry's String method hides its value, so that
// printing one by mistake does not leak it.
//
// The package knows nothing of the model, the sandbox or the CLI: it is given endpoints
// and a token source.
package lockbox
