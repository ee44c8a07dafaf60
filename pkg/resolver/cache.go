package resolver

import (
	"container/list"
	"sync"
	"time"
)

// lru is a bounded, least-recently-used cache whose entries may expire. It is safe for concurrent use.
type lru[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used
	items map[string]*list.Element
	now   func() time.Time
	// onEvict, when set, is called (under the lock) for each live entry dropped to make room.
	onEvict func()
}

type lruEntry[V any] struct {
	key     string
	val     V
	expires time.Time // zero: never
}

func newLRU[V any](max int, now func() time.Time) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: map[string]*list.Element{}, now: now}
}

// get returns the live value for key.
func (c *lru[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	e := el.Value.(*lruEntry[V])
	if !e.expires.IsZero() && !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.val, true
}

// add stores val under key for ttl (0: no expiry), evicting the least recently used entry when full.
func (c *lru[V]) add(key string, val V, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var expires time.Time
	if ttl > 0 {
		expires = c.now().Add(ttl)
	}
	if el, ok := c.items[key]; ok {
		e := el.Value.(*lruEntry[V])
		e.val, e.expires = val, expires
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		e := oldest.Value.(*lruEntry[V])
		delete(c.items, e.key)
		if c.onEvict != nil && (e.expires.IsZero() || c.now().Before(e.expires)) {
			c.onEvict()
		}
	}
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, val: val, expires: expires})
}

// len reports the number of entries, expired ones included.
func (c *lru[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
