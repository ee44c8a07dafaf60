package verify

import (
	"testing"
	"time"
)

func TestLRU(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	cases := map[string]struct {
		run  func(c *lru[int])
		at   time.Time
		want map[string]int // key → value; -1 means absent
	}{
		"An entry is returned until it expires.": {
			run:  func(c *lru[int]) { c.put("a", 1, t0, t0.Add(time.Second)) },
			at:   t0.Add(999 * time.Millisecond),
			want: map[string]int{"a": 1},
		},
		"An entry is gone once it expires.": {
			run:  func(c *lru[int]) { c.put("a", 1, t0, t0.Add(time.Second)) },
			at:   t0.Add(time.Second),
			want: map[string]int{"a": -1},
		},
		"An entry with no time to live is not stored.": {
			run:  func(c *lru[int]) { c.put("a", 1, t0, t0) },
			at:   t0,
			want: map[string]int{"a": -1},
		},
		"The least recently used entry is evicted when full.": {
			run: func(c *lru[int]) {
				c.put("a", 1, t0, t0.Add(time.Hour))
				c.put("b", 2, t0, t0.Add(time.Hour))
				c.get("a", t0) // b is now the least recently used
				c.put("c", 3, t0, t0.Add(time.Hour))
			},
			at:   t0,
			want: map[string]int{"a": 1, "b": -1, "c": 3},
		},
		"Storing a key again replaces its value and expiry.": {
			run: func(c *lru[int]) {
				c.put("a", 1, t0, t0.Add(time.Second))
				c.put("a", 2, t0, t0.Add(time.Hour))
			},
			at:   t0.Add(time.Minute),
			want: map[string]int{"a": 2},
		},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			c := newLRU[int](2)
			tc.run(c)
			for k, want := range tc.want {
				got, ok := c.get(k, tc.at)
				switch {
				case want == -1 && ok:
					t.Errorf("get(%q) = %d, want absent", k, got)
				case want != -1 && (!ok || got != want):
					t.Errorf("get(%q) = %d, %v, want %d", k, got, ok, want)
				}
			}
			if c.len() > 2 {
				t.Errorf("len() = %d, above the bound 2", c.len())
			}
		})
	}
}
