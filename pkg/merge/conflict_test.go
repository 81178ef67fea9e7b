package merge

import (
	"testing"

	"github.com/contactsync/contactsync/pkg/source"
)

// TestMerge_PartialRecordWithAnotherContactsPhone_PhoneConflict: a partial
// record (Shopify's consent topic: id, phone, consent) of a customer
// linked to a contact without a phone carries a phone another contact
// holds. It stays on its contact (partial records never re-match), the
// phone stays with its owner, and the report says phone_conflict — not a
// silent "updated".
func TestMerge_PartialRecordWithAnotherContactsPhone_PhoneConflict(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.merge(woo, rec("w1", 1, "Xena", ""), ident(phoneA, emailB))
	w.merge(shopify, rec("7", 2, "Jane", "Doe"), ident("", emailA))
	d := w.merge(shopify, source.Record{ExternalID: "7", UpdatedAt: at(3), Partial: true,
		Consent: source.ConsentSignal{State: source.SignalSubscribed, At: at(3)}}, ident(phoneA, ""))
	if d.Reason != ReasonPhoneConflict {
		t.Errorf("decision %+v, want reason %s", d, ReasonPhoneConflict)
	}
	if jane := w.byEmail(emailA); jane.Phone != "" || d.ContactID != jane.ID {
		t.Errorf("Jane's contact %+v (decision on %s): it keeps no phone", jane, d.ContactID)
	}
	if x := w.byPhone(phoneA); x.EmailKey != emailB {
		t.Errorf("the phone's owner %+v changed", x)
	}
}
