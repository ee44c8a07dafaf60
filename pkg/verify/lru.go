package verify

import (
	"container/list"
	"sync"
	"time"
)

// lru is a bounded map whose entries expire. Expired entries are dropped when read; when full, the
// least recently used entry is evicted. Safe for concurrent use.
type lru[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used
	items map[string]*list.Element
	// onEvict, when set, is called for each live entry dropped to make room (for metrics).
	onEvict func()
}

type lruEntry[V any] struct {
	key     string
	val     V
	expires time.Time
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

func (c *lru[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false
	}
	e := el.Value.(*lruEntry[V])
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.val, true
}

// put stores val until expires; an expiry not after now stores nothing.
func (c *lru[V]) put(key string, val V, now, expires time.Time) {
	if !expires.After(now) || c.max < 1 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
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
		if c.onEvict != nil && now.Before(e.expires) {
			c.onEvict()
		}
	}
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, val: val, expires: expires})
}

func (c *lru[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
