package merge

import (
	"maps"
	"slices"
	"strings"
)

// Apply returns the state after the decision's mutations, computed in
// memory exactly as the store applies them (claims only when free,
// releases only by their owner). It does not modify s. It is idempotent:
// Apply(Apply(s, d), d) equals Apply(s, d). Message mutations leave no
// trace in State (the ledger remembers them in Queued).
func Apply(s State, d Decision) State {
	n := State{Contacts: clone(s.Contacts), Phones: clone(s.Phones), Emails: clone(s.Emails),
		Links: clone(s.Links), Ledgers: clone(s.Ledgers), Held: clone(s.Held)}
	for _, mu := range d.Mutations {
		n.apply(mu, d)
	}
	return n
}

// clone copies m (an empty map for nil).
func clone[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return M{}
	}
	return maps.Clone(m)
}

// apply applies one mutation to n (whose maps are already copies; contact
// values are replaced, never modified in place).
func (n State) apply(mu Mutation, d Decision) {
	if mu.Kind == MutConsent {
		n.Ledgers[mu.Consent.Phone] = mu.Consent.Ledger
		return
	}
	if mu.Kind == MutQueueMessage {
		return
	}
	if mu.Kind == MutHoldLink {
		switch _, linked := n.Links[mu.Link.Key()]; {
		case linked:
		case len(mu.Link.Groups) == 0 && !mu.Link.Guest:
			delete(n.Held, mu.Link.Key())
		default:
			n.Held[mu.Link.Key()] = *mu.Link
		}
		return
	}
	c, exists := n.Contacts[mu.ContactID]
	switch mu.Kind {
	case MutCreateContact:
		if !exists {
			n.Contacts[mu.ContactID] = Contact{ID: mu.ContactID, CreatedAt: mu.At, UpdatedAt: mu.At}
		}
		return
	case MutDeleteContact:
		delete(n.Contacts, mu.ContactID)
		return
	}
	if !exists {
		return // the store's conditions fail on a missing contact
	}
	switch mu.Kind {
	case MutClaimPhone, MutClaimEmail:
		claims, key := n.Phones, &c.Phone
		if mu.Kind == MutClaimEmail {
			claims, key = n.Emails, &c.EmailKey
		}
		if owner, taken := claims[mu.Value]; taken && owner != mu.ContactID {
			return
		}
		claims[mu.Value], *key = mu.ContactID, mu.Value
	case MutReleasePhone, MutReleaseEmail:
		claims, key := n.Phones, &c.Phone
		if mu.Kind == MutReleaseEmail {
			claims, key = n.Emails, &c.EmailKey
		}
		if claims[mu.Value] == mu.ContactID {
			delete(claims, mu.Value)
		}
		if *key == mu.Value {
			*key = ""
		}
	case MutSetField:
		if f := c.Core(mu.Field); f != nil {
			*f = Field{Value: mu.Value, At: mu.At}
		}
	case MutSetCustom:
		c.Custom = maps.Clone(c.Custom)
		if c.Custom == nil {
			c.Custom = map[string]Field{}
		}
		c.Custom[mu.Field] = Field{Value: mu.Value, At: mu.At}
	case MutPutLink:
		c.Sources = putLink(c.Sources, *mu.Link)
		n.Links[mu.Link.Key()] = mu.ContactID
		delete(n.Held, mu.Link.Key()) // the link took what was held
	case MutRemoveLink:
		c.Sources = slices.DeleteFunc(slices.Clone(c.Sources), func(l Link) bool { return l.Key() == mu.Link.Key() })
		if n.Links[mu.Link.Key()] == mu.ContactID {
			delete(n.Links, mu.Link.Key())
		}
	case MutAddGroup:
		c.Groups = insertSorted(c.Groups, mu.Group().String())
	case MutRemoveGroup:
		c.Groups = removeSorted(c.Groups, mu.Group().String())
	}
	c.UpdatedAt = d.At
	n.Contacts[mu.ContactID] = c
}

// putLink adds or replaces l in the sorted links (copy on write).
func putLink(links []Link, l Link) []Link {
	cmp := func(a Link, k LinkKey) int {
		if a.ConnectionID != k.ConnectionID {
			return strings.Compare(a.ConnectionID, k.ConnectionID)
		}
		return strings.Compare(a.ExternalID, k.ExternalID)
	}
	i, found := slices.BinarySearchFunc(links, l.Key(), cmp)
	out := slices.Clone(links)
	if found {
		out[i] = l
		return out
	}
	return slices.Insert(out, i, l)
}
