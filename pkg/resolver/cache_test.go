package resolver

import (
	"testing"
	"time"
)

func TestLRU(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	c := newLRU[int](2, func() time.Time { return now })

	c.add("a", 1, 0)
	c.add("b", 2, time.Second)
	if v, ok := c.get("a"); !ok || v != 1 { // a is now the most recently used
		t.Fatalf("get(a) = %d, %t", v, ok)
	}
	c.add("c", 3, 0) // evicts b, the least recently used
	if _, ok := c.get("b"); ok {
		t.Error("b survived eviction")
	}
	if c.len() != 2 {
		t.Errorf("len = %d, want 2", c.len())
	}
	c.add("d", 4, time.Second)
	if v, ok := c.get("d"); !ok || v != 4 {
		t.Errorf("get(d) = %d, %t before expiry", v, ok)
	}
	now = now.Add(time.Second)
	if _, ok := c.get("d"); ok {
		t.Error("d outlived its TTL")
	}
	if v, ok := c.get("c"); !ok || v != 3 {
		t.Errorf("get(c) = %d, %t; entries without TTL never expire", v, ok)
	}
	c.add("c", 5, 0)
	if v, _ := c.get("c"); v != 5 {
		t.Errorf("get(c) = %d after replacing it, want 5", v)
	}
}
