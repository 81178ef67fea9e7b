package store

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/resources"
)

// The emulator's ConsumedCapacity does not follow AWS's pricing rules for
// transactions (DynamoDB Local reports 4 units for a transaction of one to
// three small items, and 8 when one has an index entry). Usage therefore
// also keeps an estimate by AWS's documented rules, computed from the items
// the store writes: a standard write costs one unit per started KB of the
// item, a transactional write two, each GSI entry written one per started
// KB of the projected item (ALL here); an eventually consistent read of up
// to 4 KB costs half a unit, a strongly consistent one a unit, found or not.
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html

// itemSize approximates DynamoDB's item size: attribute names plus values.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		return len(x.Value)/2 + 1
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range x.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range x.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

func kbUnits(size int) float64 { return float64((size + 1023) / 1024) }

// writeUnits is AWS's cost of writing item (transactional or not).
func writeUnits(item map[string]types.AttributeValue, transactional bool) float64 {
	size := itemSize(item)
	units := kbUnits(size)
	if transactional {
		units *= 2
	}
	for _, g := range resources.MainTable("").GSIs {
		if _, ok := item[g.PartitionKey.Name]; ok {
			units += kbUnits(size)
		}
	}
	return units
}

// estimate adds AWS-rule units to the attached Usage.
func (s *Store) estimate(write bool, units float64) {
	if s.usage == nil {
		return
	}
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	if write {
		s.usage.estWrite += units
	} else {
		s.usage.estRead += units
	}
}

// Estimated returns read and write units by AWS's pricing rules.
func (u *Usage) Estimated() (rcu, wcu float64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.estRead, u.estWrite
}
