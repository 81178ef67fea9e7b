package connectors

import (
	"context"
	"fmt"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// ErrNoFieldLister: the connection's platform client cannot list fields.
var ErrNoFieldLister = fmt.Errorf("connectors: the platform lists no fields")

// Fields lists the fields the connection's records may carry
// (source.FieldLister), with a client built for this call from the
// connection as given — not cached, so a connection being created or
// changed (its config and field map not stored yet) never leaves a client
// behind for the bulk-sync pages.
func (r *Registry) Fields(ctx context.Context, conn store.Connection) ([]source.Field, error) {
	r.mu.Lock()
	c, err := r.build(conn)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var inner any = c
	if p, ok := c.(permanentErrors); ok {
		inner = p.platformClient
	}
	fl, ok := inner.(source.FieldLister)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoFieldLister, conn.Platform)
	}
	return fl.Fields(ctx)
}
