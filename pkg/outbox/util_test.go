package outbox_test

import (
	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

func webhookOpts(c store.Connection) source.Options {
	return source.Options{ConnectionID: c.ID, Label: c.Label}
}
