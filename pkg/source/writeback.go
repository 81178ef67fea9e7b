package source

import (
	"context"
	"errors"
)

// ErrWriteBackUnsupported marks a connector (or a connection's setup) that
// cannot take an opt-out written back: Mailchimp's API has no SMS opt-out,
// a WooCommerce store without an SMS consent meta key, a guest record.
// Connectors wrap it in their own error.
var ErrWriteBackUnsupported = errors.New("write-back of opt-outs is not supported")

// WriteBacker is a connector that writes an opt-out back to one of its
// source records (by its external id, or by the number where the platform
// keys consent by phone).
type WriteBacker interface {
	WriteBackOptOut(ctx context.Context, externalID, e164 string) error
}

// WriteBackChecker is a connector that knows, without a request, whether
// it can write opt-outs back at all: CanWriteBack returns nil when it can,
// and an error wrapping ErrWriteBackUnsupported with the reason when it
// cannot. A connector without it is asked record by record.
type WriteBackChecker interface {
	CanWriteBack() error
}
