package webhook

import (
	"sync"
	"time"

	"github.com/contactsync/contactsync/pkg/store"
)

// DefaultConnectionTTL is how long a warm container keeps a connection it
// read (Deps.ConnectionTTL).
const DefaultConnectionTTL = 30 * time.Second

// connCacheSize bounds the connections a container keeps: past it, expired
// entries go first, then any.
const connCacheSize = 1024

// connCache keeps the active connections a container read, with their
// opened config, for a short TTL (doc.go says what that allows).
type connCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedConn
}

type cachedConn struct {
	conn store.Connection
	cfg  map[string]string
	at   time.Time
}

func newConnCache(ttl time.Duration) *connCache {
	return &connCache{ttl: ttl, m: map[string]cachedConn{}}
}

func cacheKey(tenant, id string) string { return tenant + "/" + id }

// get returns the entry read less than ttl before now.
func (c *connCache) get(key string, now time.Time) (cachedConn, bool) {
	if c.ttl <= 0 {
		return cachedConn{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.Sub(e.at) >= c.ttl || now.Before(e.at) {
		return cachedConn{}, false
	}
	return e, true
}

// put keeps an entry, making room when the cache is full.
func (c *connCache) put(key string, e cachedConn) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= connCacheSize {
		for k, old := range c.m {
			if e.at.Sub(old.at) >= c.ttl {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < connCacheSize {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = e
}

// drop forgets an entry.
func (c *connCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}
