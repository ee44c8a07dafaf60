package resolver

import (
	"time"

	"github.com/signet-dev/signet/internal/lru"
)

// ttlCache is an internal/lru cache read with the resolver's clock and written with a TTL.
type ttlCache[V any] struct {
	*lru.Cache[V]
	now func() time.Time
}

func newLRU[V any](max int, now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{Cache: lru.New[V](max), now: now}
}

// get returns the live value for key.
func (c *ttlCache[V]) get(key string) (V, bool) { return c.Get(key, c.now()) }

// add stores val under key for ttl (0: no expiry).
func (c *ttlCache[V]) add(key string, val V, ttl time.Duration) {
	now := c.now()
	var expires time.Time
	if ttl > 0 {
		expires = now.Add(ttl)
	}
	c.Put(key, val, now, expires)
}

// len reports the number of entries, expired ones included.
func (c *ttlCache[V]) len() int { return c.Len() }
