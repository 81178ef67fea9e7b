package store

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// rejected reports whether DynamoDB refused a write for good: a
// ValidationException (an item over 400 KB, a key over its limit, a value
// it cannot store), or a transaction cancelled for a ValidationError. No
// retry or re-read can make such a write succeed.
func rejected(err error) bool {
	if err == nil {
		return false
	}
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			if derefStr(r.Code) == "ValidationError" {
				return true
			}
		}
		return false
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException"
}
