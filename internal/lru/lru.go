// Package lru is the bounded, least-recently-used cache with expiring entries that signet's
// tag, digest, signature and verdict caches are built on.
package lru

import (
	"container/list"
	"sync"
	"time"
)

// Cache maps keys to values, holding at most max entries; when full, the least recently used entry
// makes room. Expired entries are dropped when read. Safe for concurrent use.
type Cache[V any] struct {
	// OnEvict, when set before first use, is called (under the lock) for each live entry dropped
	// to make room, for metrics.
	OnEvict func()

	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type entry[V any] struct {
	key     string
	val     V
	expires time.Time // zero: never
}

// New returns a cache of at most max entries; max < 1 stores nothing.
func New[V any](max int) *Cache[V] {
	return &Cache[V]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// Get returns the value stored under key if it has not expired at now.
func (c *Cache[V]) Get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	e := el.Value.(*entry[V])
	if !e.live(now) {
		c.order.Remove(el)
		delete(c.items, key)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.val, true
}

// Put stores val under key until expires (zero: no expiry). An expiry not after now stores
// nothing, so a zero TTL turns caching off.
func (c *Cache[V]) Put(key string, val V, now, expires time.Time) {
	if (!expires.IsZero() && !expires.After(now)) || c.max < 1 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*entry[V])
		e.val, e.expires = val, expires
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		e := oldest.Value.(*entry[V])
		delete(c.items, e.key)
		if c.OnEvict != nil && e.live(now) {
			c.OnEvict()
		}
	}
	c.items[key] = c.order.PushFront(&entry[V]{key: key, val: val, expires: expires})
}

// Len reports the number of entries, expired ones not yet dropped included.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (e *entry[V]) live(now time.Time) bool {
	return e.expires.IsZero() || now.Before(e.expires)
}
