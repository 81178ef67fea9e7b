package merge

import (
	"encoding/binary"
	"unsafe"

	"github.com/contactsync/contactsync/pkg/source"
)

// The hash reads 8 bytes at a time and mixes each word with a multiply and
// a shift (the "fold" of wyhash/splitmix-style hashes). It is stable across
// processes and versions of Go, unlike hash/maphash, because it is
// persisted on every source link.
const (
	hashSeed  = 0x243f6a8885a308d3 // digits of pi
	hashPrime = 0x9e3779b97f4a7c15 // 2^64 / golden ratio
)

func mix(h, v uint64) uint64 {
	h ^= v
	h *= hashPrime
	return h ^ h>>29
}

// hashString mixes s and its length into h.
func hashString(h uint64, s string) uint64 {
	h = mix(h, uint64(len(s)))
	b := unsafe.Slice(unsafe.StringData(s), len(s)) // read-only view, no copy
	for len(b) >= 8 {
		h = mix(h, binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	if len(b) > 0 {
		h = mix(h, tail(b))
	}
	return h
}

// tail reads 1 to 7 bytes as a little-endian word (the bytes beyond them
// zero) with at most three loads instead of a byte loop.
func tail(b []byte) uint64 {
	switch n := len(b); {
	case n >= 4:
		v := uint64(binary.LittleEndian.Uint32(b))
		switch n {
		case 5:
			v |= uint64(b[4]) << 32
		case 6:
			v |= uint64(binary.LittleEndian.Uint16(b[4:])) << 32
		case 7:
			v |= uint64(binary.LittleEndian.Uint16(b[4:]))<<32 | uint64(b[6])<<48
		}
		return v
	case n == 3:
		return uint64(binary.LittleEndian.Uint16(b)) | uint64(b[2])<<16
	case n == 2:
		return uint64(binary.LittleEndian.Uint16(b))
	}
	return uint64(b[0])
}

// hashSet hashes a set of strings independently of their order: the sum
// of the members' own hashes, then the count.
func hashSet(h uint64, xs []string) uint64 {
	var sum uint64
	for _, x := range xs {
		sum += hashString(hashSeed, x)
	}
	return mix(mix(h, uint64(len(xs))), sum)
}

// ContentHash is a stable 64-bit hash of everything in a record that merge
// reads. Groups, AddGroups and RemoveGroups are hashed as sets (their order
// does not matter), Fields as a map. A re-fired identical payload has the
// same hash, so it changes nothing and costs no write.
func ContentHash(r source.Record) uint64 { return contentHash(&r, nil) }

// contentHash is ContentHash; when keys is not nil and the record has at
// most smallFields fields, it also leaves the field names in keys (in map
// order), so merge walks the map once.
func contentHash(r *source.Record, keys *fieldKeys) uint64 {
	h := uint64(hashSeed)
	h = hashString(h, string(r.Platform))
	h = hashString(h, r.Label)
	h = hashString(h, r.ConnectionID)
	h = hashString(h, r.ExternalID)
	for i, f := range source.ContactFields {
		switch v := *f.Of(r); {
		case i < 2: // the names, hashed as before there was a list: stored hashes hold
			h = hashString(h, v)
		case v != "": // a later field only when set, so adding one rewrites no record without it
			h = hashString(mix(h, uint64(i)), v)
		}
	}
	h = hashString(h, r.Country)
	h = hashString(h, string(r.Consent.State))
	h = hashString(h, r.Consent.Method)
	h = mix(h, uint64(r.UpdatedAt.UnixNano()))
	h = mix(h, uint64(r.Consent.At.UnixNano()))
	h = mix(h, uint64(len(r.Emails)))
	for _, e := range r.Emails {
		h = hashString(h, e)
	}
	h = mix(h, uint64(len(r.Phones)))
	for _, p := range r.Phones {
		h = hashString(hashString(hashString(h, p.Raw), p.Country), p.Field)
	}
	h = hashSet(h, r.Groups)
	h = hashSet(h, r.AddGroups)
	h = hashSet(h, r.RemoveGroups)
	var flags uint64
	if r.HasGroups {
		flags |= 1
	}
	if r.Guest {
		flags |= 2
	}
	if r.Deleted {
		flags |= 4
	}
	h = mix(h, flags)
	var fields uint64
	collect := keys != nil && len(r.Fields) <= len(keys.k)
	if keys != nil {
		keys.n = 0
	}
	for k, v := range r.Fields {
		fields += hashString(hashString(hashSeed, k), v)
		if collect {
			keys.k[keys.n] = k
			keys.n++
		}
	}
	if keys != nil {
		keys.ok = collect
	}
	return mix(mix(h, uint64(len(r.Fields))), fields)
}

// fieldKeys holds a record's custom field names, gathered by contentHash.
type fieldKeys struct {
	k  [smallFields]string
	n  int
	ok bool // k[:n] holds every field name
}

// deltaBase is the content hash of a delta record without its deltas.
func deltaBase(r *source.Record) uint64 {
	b := *r
	b.AddGroups, b.RemoveGroups = nil, nil
	return contentHash(&b, nil)
}
