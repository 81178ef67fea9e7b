package store

import (
	"github.com/contactsync/contactsync/pkg/consent"
	"github.com/contactsync/contactsync/pkg/merge"
)

// MergeConnection maps a stored connection to the merge core's settings.
func MergeConnection(c Connection) merge.Connection {
	return merge.Connection{ID: c.ID, Label: c.Label, Mode: consent.Mode(c.ConsentMode), DefaultRegion: c.DefaultRegion, FieldMap: c.FieldMap, FieldTypes: c.FieldTypes}
}
