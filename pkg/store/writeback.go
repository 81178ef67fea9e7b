package store

import (
	"context"
	"errors"
)

// WriteBack is a source record whose platform should learn of an opt-out.
type WriteBack struct {
	ConnectionID string
	ExternalID   string
}

// WriteBackTargets returns the source records of the contact holding the
// number whose connection has write-back of opt-outs on.
func (s *Store) WriteBackTargets(ctx context.Context, tenant, e164 string) ([]WriteBack, error) {
	p, ok, err := s.GetPhone(ctx, tenant, e164)
	if err != nil || !ok || p.ContactID == "" {
		return nil, err
	}
	cv, err := s.GetContact(ctx, tenant, p.ContactID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []WriteBack
	enabled := map[string]bool{}
	for _, l := range cv.Sources {
		on, seen := enabled[l.ConnectionID]
		if !seen {
			conn, err := s.GetConnection(ctx, tenant, l.ConnectionID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			on = err == nil && conn.WriteBackOptOuts
			enabled[l.ConnectionID] = on
		}
		if on && !l.Guest {
			out = append(out, WriteBack{ConnectionID: l.ConnectionID, ExternalID: l.ExternalID})
		}
	}
	return out, nil
}
