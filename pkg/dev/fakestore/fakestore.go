// Package fakestore generates the deterministic people that the platform
// fakes (shopifytest, woocommercetest, ...) serve: names, messy emails and
// phone fields in the formats real stores hold, countries, consent and
// tags. NewPerson(seed, i) is a pure function of its arguments, so two fakes
// built with the same seed share people (and phone numbers) by index — the
// demo's Shopify and WooCommerce stores overlap that way.
package fakestore

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Person is one generated customer.
type Person struct {
	Index     int
	FirstName string
	LastName  string
	Email     string // messy: case and spaces vary; "" for some
	Phone     string // messy free text in a national or international format; "" for some
	E164      string // what Phone should normalise to ("" when Phone is junk or empty)
	Country   string // ISO 3166-1 alpha-2
	Consent   string // "subscribed", "unsubscribed", "never" (never asked)
	ConsentAt time.Time
	Tags      []string
	UpdatedAt time.Time
}

var (
	firstNames = []string{"Olivia", "Noah", "Amelia", "Jack", "Isla", "William", "Mia", "Oliver", "Charlotte", "Leo", "Ava", "Henry", "Grace", "Lucas", "Chloe", "Thomas", "Zoe", "James", "Ruby", "Ethan"}
	lastNames  = []string{"Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "Johnson", "Martin", "White", "Anderson", "Walker", "Thompson", "Harris", "Lee", "Ryan", "Müller", "Schmidt", "O'Brien", "Kelly"}
	tags       = []string{"VIP", "Wholesale", "Newsletter", "Returning", "Local pickup"}
	// Epoch is the generated stores' reference time.
	Epoch = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
)

// NewPerson returns person i of the store generated from seed.
func NewPerson(seed int64, i int) Person {
	// The phone and identity depend on i only (so stores with different
	// seeds still share people when asked to); seed varies the rest.
	id := rand.New(rand.NewPCG(uint64(i)*2654435761+1, 0x5eed))
	r := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
	p := Person{Index: i}
	p.FirstName = firstNames[id.IntN(len(firstNames))]
	p.LastName = lastNames[id.IntN(len(lastNames))]
	p.Country, p.Phone, p.E164 = messyPhone(id, i)
	email := fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(p.FirstName), strings.ToLower(strings.ReplaceAll(p.LastName, "'", "")), i)
	switch r.IntN(10) {
	case 0:
		email = strings.ToUpper(email[:1]) + email[1:]
	case 1:
		email = " " + email + " "
	case 2:
		if p.Phone != "" {
			email = "" // phone only
		}
	}
	p.Email = email
	switch n := r.IntN(10); {
	case n < 5:
		p.Consent = "subscribed"
	case n < 7:
		p.Consent = "unsubscribed"
	default:
		p.Consent = "never"
	}
	p.ConsentAt = Epoch.Add(-time.Duration(r.IntN(365*24)) * time.Hour)
	for _, t := range tags {
		if r.IntN(4) == 0 {
			p.Tags = append(p.Tags, t)
		}
	}
	p.UpdatedAt = Epoch.Add(-time.Duration(r.IntN(90*24*60)) * time.Minute)
	return p
}

// usAreaCodes are 13 US area codes, each valid with any exchange 200-999:
// with the exchange's first digit (2-9) they hold 104 ≥ 100 values.
var usAreaCodes = [13]string{"415", "212", "312", "617", "206", "303", "512", "646", "213", "404", "305", "702", "503"}

// messyPhone returns a country, a messy phone field and its E.164 form.
func messyPhone(r *rand.Rand, i int) (country, raw, e164 string) {
	n := fmt.Sprintf("%08d", (i*7919+12345)%100000000)
	// A US number holds all of n: n[1:7] after the exchange's first digit,
	// n[0] and n[7] in the area code and that digit. So no two people share
	// a number by accident, in a store of any size (with 415-2xx-xxxx
	// alone, 6 % of 100,000 did, and none of 10,000).
	v := int(n[0]-'0')*10 + int(n[7]-'0')
	area, ex := usAreaCodes[v/8], string(rune('2'+v%8))
	switch r.IntN(20) {
	case 0, 1, 2, 3, 4, 5:
		return "AU", "04" + n[:2] + " " + n[2:5] + " " + n[5:], "+614" + n
	case 6, 7, 8:
		return "US", "(" + area + ") " + ex + n[1:3] + "-" + n[3:7], "+1" + area + ex + n[1:7]
	case 9, 10:
		return "AU", "+61 4" + n[:2] + " " + n[2:5] + " " + n[5:], "+614" + n
	case 11:
		return "GB", "07400 " + n[2:], "+447400" + n[2:]
	case 12:
		return "NZ", "021 " + n[2:5] + " " + n[5:], "+6421" + n[2:]
	case 13:
		return "AU", "04" + n[:2] + " " + n[2:5] + " " + n[5:] + " (mobile)", "+614" + n
	case 14:
		return "US", "+1 " + area + "-" + ex + n[1:3] + "-" + n[3:7] + " ext. 12", "+1" + area + ex + n[1:7]
	case 15:
		return "AU", "n/a", ""
	case 16:
		return "AU", "", ""
	case 17:
		return "AU", "04" + n[:2] + " " + n[2:5] + " " + n[5:] + " / 0298765432", ""
	default:
		return "AU", "0011 61 4" + n[:2] + " " + n[2:5] + " " + n[5:], "+614" + n
	}
}
