package lockbox

import (
	"encoding/json"
	"regexp"
	"time"

	"github.com/pghac/pghac/compiler/model"
)

// Cloud endpoints of the APIs this package calls.
const (
	APIEndpoint       = "https://lockbox.api.cloud.yandex.net"
	PayloadEndpoint   = model.YandexLockboxPayloadEndpoint
	OperationEndpoint = "https://operation.api.cloud.yandex.net"
	IAMEndpoint       = "https://iam.api.cloud.yandex.net"
	// MetadataURL is the compute metadata service as a VM sees it.
	MetadataURL = "http://169.254.169.254"
)

// Paths of the metadata service, below its URL.
const (
	MetadataTokenPath     = "/computeMetadata/v1/instance/service-accounts/default/token"
	MetadataAttributePath = "/computeMetadata/v1/instance/attributes/"
	// MetadataFlavorHeader must be sent with the value MetadataFlavor, or the service
	// answers 403: it keeps a page fetched through a proxy or a redirect from reading tokens.
	MetadataFlavorHeader = "Metadata-Flavor"
	MetadataFlavor       = "Google"
	// StorageTokenHeader is where Object Storage takes an IAM token instead of a signature:
	// how a VM downloads a private object as its service account.
	StorageTokenHeader = "X-YaCloud-SubjectToken"
)

// The type URLs (google.protobuf.Any "@type") of AddVersion's operation.
const (
	AddVersionMetadataType = "type.googleapis.com/yandex.cloud.lockbox.v1.AddVersionMetadata"
	VersionType            = "type.googleapis.com/yandex.cloud.lockbox.v1.Version"
)

// gRPC status codes that the APIs return in Status.Code.
const (
	CodeInvalidArgument    = 3
	CodeNotFound           = 5
	CodePermissionDenied   = 7
	CodeFailedPrecondition = 9
	CodeInternal           = 13
	CodeUnauthenticated    = 16
)

// Limits of AddVersion, from the API reference; checked before sending so that the
// error names the offending key instead of a server-side INVALID_ARGUMENT.
const (
	MaxEntries     = 32
	MaxKeyLength   = 256
	MaxValueLength = 65536
	MaxIDLength    = 50
)

// keyPattern is the documented pattern of an entry's key.
var keyPattern = regexp.MustCompile(`^[-_./\\@0-9a-zA-Z]+$`)

// ValidKey reports whether key is one Lockbox accepts.
func ValidKey(key string) bool {
	return len(key) <= MaxKeyLength && keyPattern.MatchString(key)
}

// Entry is one entry of a payload (Payload.Entry) and, in an AddVersionRequest, one change
// to the base version (PayloadEntryChange): the two have the same JSON. At most one of
// TextValue and BinaryValue is set; a change with neither removes the key.
type Entry struct {
	Key string `json:"key"`
	// TextValue is a pointer so that an empty text value is sent and told apart from a removal.
	TextValue   *string `json:"textValue,omitempty"`
	BinaryValue []byte  `json:"binaryValue,omitempty"`
}

// TextEntry is an entry setting key to the text value.
func TextEntry(key, value string) Entry { return Entry{Key: key, TextValue: &value} }

// RemoveEntry is a change removing key from the base version.
func RemoveEntry(key string) Entry { return Entry{Key: key} }

// Value is the entry's value as a string (binary values as their bytes), and whether it
// has one.
func (e Entry) Value() (string, bool) {
	switch {
	case e.TextValue != nil:
		return *e.TextValue, true
	case e.BinaryValue != nil:
		return string(e.BinaryValue), true
	}
	return "", false
}

// String shows the key only, so that an entry printed by mistake does not leak its value.
func (e Entry) String() string {
	if _, ok := e.Value(); ok {
		return e.Key + "=<hidden>"
	}
	return e.Key + " (removed)"
}

// GoString hides the value from %#v too.
func (e Entry) GoString() string { return "lockbox.Entry{" + e.String() + "}" }

// Payload is the answer of Payload.Get.
type Payload struct {
	VersionID string  `json:"versionId"`
	Entries   []Entry `json:"entries"`
}

// AddVersionRequest is the body of Secret.AddVersion.
type AddVersionRequest struct {
	Description    string  `json:"description,omitempty"`
	PayloadEntries []Entry `json:"payloadEntries"`
	BaseVersionID  string  `json:"baseVersionId,omitempty"`
}

// Status is google.rpc.Status: the body of an error answer and an operation's error.
type Status struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// Operation is yandex.cloud.operation.Operation. Metadata and Response are
// google.protobuf.Any, so they stay raw until the caller knows their type.
type Operation struct {
	ID          string          `json:"id"`
	Description string          `json:"description,omitempty"`
	CreatedAt   time.Time       `json:"createdAt,omitzero"`
	CreatedBy   string          `json:"createdBy,omitempty"`
	ModifiedAt  time.Time       `json:"modifiedAt,omitzero"`
	Done        bool            `json:"done"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	Error       *Status         `json:"error,omitempty"`
	Response    json.RawMessage `json:"response,omitempty"`
}

// AddVersionMetadata is the metadata of AddVersion's operation.
type AddVersionMetadata struct {
	Type      string `json:"@type"`
	SecretID  string `json:"secretId"`
	VersionID string `json:"versionId"`
}

// Version is a secret's version as AddVersion's operation answers it: its keys, not its values.
type Version struct {
	Type             string    `json:"@type,omitempty"`
	ID               string    `json:"id"`
	SecretID         string    `json:"secretId"`
	CreatedAt        time.Time `json:"createdAt,omitzero"`
	DestroyAt        time.Time `json:"destroyAt,omitzero"`
	Description      string    `json:"description,omitempty"`
	Status           string    `json:"status,omitempty"`
	PayloadEntryKeys []string  `json:"payloadEntryKeys"`
}

// ServiceAccountToken is the metadata service's answer for a service account's token.
type ServiceAccountToken struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// String hides the token.
func (t ServiceAccountToken) String() string {
	return "ServiceAccountToken{" + t.TokenType + ", expires in " + (time.Duration(t.ExpiresIn) * time.Second).String() + "}"
}

// GoString hides the token from %#v too.
func (t ServiceAccountToken) GoString() string { return t.String() }
