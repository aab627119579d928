package lockbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// APIError is an error answer of one of the APIs, or the error of a failed operation
// (then Status is 0). Message is the API's, with any value or token the request carried
// redacted.
type APIError struct {
	Status  int // HTTP status; 0 for an operation's error
	Code    int // gRPC code; 0 when the body was not a Status
	Message string
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if e.Code != 0 {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "code %d", e.Code)
		if n := codeNames[e.Code]; n != "" {
			fmt.Fprintf(&b, " (%s)", n)
		}
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// NotFound reports whether the API said the thing asked for does not exist: for a
// payload, no such secret, no such version, or a secret that has no version yet (one
// made by Terraform before pghac wrote to it).
func (e *APIError) NotFound() bool {
	return e.Code == CodeNotFound || (e.Code == 0 && e.Status == http.StatusNotFound)
}

// IsNotFound reports whether err is, or wraps, an APIError that is NotFound.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.NotFound()
}

// IsPermissionDenied reports whether err is, or wraps, an APIError saying that the token
// is valid but may not do this (a node's service account asking for another secret).
func IsPermissionDenied(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == CodePermissionDenied || (ae.Code == 0 && ae.Status == http.StatusForbidden))
}

var codeNames = map[int]string{
	1:  "CANCELLED",
	2:  "UNKNOWN",
	3:  "INVALID_ARGUMENT",
	4:  "DEADLINE_EXCEEDED",
	5:  "NOT_FOUND",
	6:  "ALREADY_EXISTS",
	7:  "PERMISSION_DENIED",
	8:  "RESOURCE_EXHAUSTED",
	9:  "FAILED_PRECONDITION",
	10: "ABORTED",
	11: "OUT_OF_RANGE",
	12: "UNIMPLEMENTED",
	13: "INTERNAL",
	14: "UNAVAILABLE",
	15: "DATA_LOSS",
	16: "UNAUTHENTICATED",
}

// CodeName is the name of a gRPC code ("NOT_FOUND"), or "" for an unknown one.
func CodeName(code int) string { return codeNames[code] }

// HTTPStatus is the HTTP status that Yandex's REST gateway answers with for a gRPC code.
func HTTPStatus(code int) int {
	switch code {
	case 0:
		return http.StatusOK
	case CodeInvalidArgument, CodeFailedPrecondition, 11:
		return http.StatusBadRequest
	case CodeNotFound:
		return http.StatusNotFound
	case 6, 10:
		return http.StatusConflict
	case CodePermissionDenied:
		return http.StatusForbidden
	case 8:
		return http.StatusTooManyRequests
	case 1:
		return 499
	case 12:
		return http.StatusNotImplemented
	case 14:
		return http.StatusServiceUnavailable
	case 4:
		return http.StatusGatewayTimeout
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// maxMessage bounds the API message kept in an error: it is for a person to read.
const maxMessage = 1024

// minRedacted is the shortest secret that redact looks for. Shorter ones would match
// ordinary words of the message and make it unreadable, and a value of one to three
// characters is not a secret worth hiding.
const minRedacted = 4

// redact replaces every occurrence of a secret in msg and bounds its length. Servers do
// not normally echo what they were sent, but an error is printed and logged, so it is
// not trusted to.
func redact(msg string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= minRedacted {
			msg = strings.ReplaceAll(msg, s, "<redacted>")
		}
	}
	if len(msg) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// errorFromBody makes the APIError of a non-2xx answer. The body is used only if it is a
// Status: anything else (a proxy's HTML page) is dropped rather than quoted.
func errorFromBody(status int, body []byte, secrets []string) *APIError {
	e := &APIError{Status: status}
	var st Status
	if json.Unmarshal(body, &st) == nil && (st.Code != 0 || st.Message != "") {
		e.Code = st.Code
		e.Message = redact(st.Message, secrets)
	} else {
		e.Message = http.StatusText(status)
	}
	return e
}

// decodeError describes why an answer did not decode without quoting it: encoding/json's
// syntax errors quote the offending character, which may be one of a value's.
func decodeError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Errorf("field %q is a JSON %s, not a %s", te.Field, te.Value, te.Type)
	}
	return errors.New("not the JSON expected")
}
