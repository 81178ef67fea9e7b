package connectors

import (
	"fmt"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// Subscriber returns the client that registers the connection's webhooks
// on its platform (source.Subscriber: Shopify, WooCommerce, Mailchimp and Klaviyo), a
// fresh one from its stored config after the same host checks as every
// client; ErrNoSetup for a platform whose connector registers none.
func (r *Registry) Subscriber(conn store.Connection) (source.Subscriber, error) {
	cfg, err := r.Config(conn)
	if err != nil {
		return nil, err
	}
	c, err := r.setupClient(conn, cfg)
	if err != nil {
		return nil, err
	}
	s, ok := c.(source.Subscriber)
	if !ok {
		return nil, fmt.Errorf("%w: %s webhook subscriptions", ErrNoSetup, conn.Platform)
	}
	return s, nil
}
