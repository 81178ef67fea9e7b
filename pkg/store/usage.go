package store

import (
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Usage accumulates consumed capacity units across requests (safe for
// concurrent use). The store asks DynamoDB for ReturnConsumedCapacity TOTAL
// only when a Usage is attached.
type Usage struct {
	mu       sync.Mutex
	read     float64
	write    float64
	requests int
	estRead  float64 // by AWS's pricing rules (units.go)
	estWrite float64
}

// Totals returns read units, write units and requests counted so far.
func (u *Usage) Totals() (rcu, wcu float64, requests int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.read, u.write, u.requests
}

// Reset zeroes the counters.
func (u *Usage) Reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.read, u.write, u.requests, u.estRead, u.estWrite = 0, 0, 0, 0, 0
}

func (s *Store) capacityMode() types.ReturnConsumedCapacity {
	if s.usage == nil {
		return types.ReturnConsumedCapacityNone
	}
	return types.ReturnConsumedCapacityTotal
}

// track adds consumed capacity (read or write) to the attached Usage.
func (s *Store) track(write bool, ccs ...types.ConsumedCapacity) {
	if s.usage == nil {
		return
	}
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	s.usage.requests++
	for _, cc := range ccs {
		units := 0.0
		if cc.CapacityUnits != nil {
			units = *cc.CapacityUnits
		}
		if write {
			s.usage.write += units
		} else {
			s.usage.read += units
		}
	}
}

func (s *Store) trackOne(write bool, cc *types.ConsumedCapacity) {
	if cc != nil {
		s.track(write, *cc)
	} else {
		s.track(write)
	}
}
