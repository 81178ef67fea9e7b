package hubapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/contactsync/contactsync/pkg/apigw"
)

// decode reads a JSON body strictly (unknown fields are errors, one value
// only) into v; on failure it returns the 400 response to send.
func decode(body []byte, v any) (apigw.Response, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apigw.Error(http.StatusBadRequest, "malformed_json", "request body is not the expected JSON: "+jsonProblem(err)), false
	}
	if dec.More() {
		return apigw.Error(http.StatusBadRequest, "malformed_json", "request body has trailing data"), false
	}
	return apigw.Response{}, true
}

// jsonProblem describes a decoding error without echoing input values.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return "syntax error"
	case *json.UnmarshalTypeError:
		return "field " + e.Field + " has the wrong type"
	}
	msg := err.Error()
	if len(msg) > 80 {
		msg = msg[:80]
	}
	return msg
}
