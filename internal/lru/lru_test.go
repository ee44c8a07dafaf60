package lru

import (
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	cases := map[string]struct {
		run     func(c *Cache[int], evicted *int)
		key     string
		at      time.Time
		want    int
		found   bool
		evicted int
	}{
		"A value is found before it expires.": {
			run: func(c *Cache[int], _ *int) { c.Put("a", 1, t0, t0.Add(time.Second)) }, key: "a", at: t0, want: 1, found: true},
		"A value is gone once it expires.": {
			run: func(c *Cache[int], _ *int) { c.Put("a", 1, t0, t0.Add(time.Second)) }, key: "a", at: t0.Add(time.Second)},
		"A zero expiry never expires.": {
			run: func(c *Cache[int], _ *int) { c.Put("a", 1, t0, time.Time{}) }, key: "a", at: t0.Add(1000 * time.Hour), want: 1, found: true},
		"An expiry at now stores nothing.": {
			run: func(c *Cache[int], _ *int) { c.Put("a", 1, t0, t0) }, key: "a", at: t0},
		"The least recently used entry makes room, and counts as evicted.": {
			run: func(c *Cache[int], _ *int) {
				c.Put("a", 1, t0, time.Time{})
				c.Put("b", 2, t0, time.Time{})
				c.Get("a", t0)
				c.Put("c", 3, t0, time.Time{})
			}, key: "b", at: t0, evicted: 1},
		"A recently read entry survives.": {
			run: func(c *Cache[int], _ *int) {
				c.Put("a", 1, t0, time.Time{})
				c.Put("b", 2, t0, time.Time{})
				c.Get("a", t0)
				c.Put("c", 3, t0, time.Time{})
			}, key: "a", at: t0, want: 1, found: true, evicted: 1},
		"Dropping an expired entry to make room is not an eviction.": {
			run: func(c *Cache[int], _ *int) {
				c.Put("a", 1, t0, t0.Add(time.Second))
				c.Put("b", 2, t0, time.Time{})
				c.Put("c", 3, t0.Add(2*time.Second), time.Time{})
			}, key: "c", at: t0, want: 3, found: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := New[int](2)
			evicted := 0
			c.OnEvict = func() { evicted++ }
			tc.run(c, &evicted)
			got, ok := c.Get(tc.key, tc.at)
			if ok != tc.found || got != tc.want {
				t.Errorf("Get(%q) = %d, %v; want %d, %v", tc.key, got, ok, tc.want, tc.found)
			}
			if evicted != tc.evicted {
				t.Errorf("evicted %d, want %d", evicted, tc.evicted)
			}
			if c.Len() > 2 {
				t.Errorf("Len() = %d beyond the bound 2", c.Len())
			}
		})
	}
}

func TestAZeroSizedCacheStoresNothing(t *testing.T) {
	t.Parallel()
	c := New[int](0)
	c.Put("a", 1, time.Unix(0, 0), time.Time{})
	if _, ok := c.Get("a", time.Unix(0, 0)); ok || c.Len() != 0 {
		t.Fatal("a zero-sized cache stored a value")
	}
}

func TestStoringAKeyAgainReplacesItsValueAndExpiry(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	c := New[int](2)
	c.Put("a", 1, t0, t0.Add(time.Second))
	c.Put("a", 2, t0, t0.Add(time.Hour))
	if got, ok := c.Get("a", t0.Add(time.Minute)); !ok || got != 2 {
		t.Fatalf("Get(a) = %d, %v; want 2, true", got, ok)
	}
	if c.Len() != 1 {
		t.Fatalf("Len() = %d, want 1", c.Len())
	}
}
