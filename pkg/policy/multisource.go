package policy

import "sync/atomic"

// Source hands out the current, immutable policy snapshot. FileSource, ClusterSource and
// Combined are Sources.
type Source interface {
	Policies() *Set
}

// Static is a Source that always serves the same snapshot: for the CLI, which loads policies once,
// and for tests.
type Static struct{ Set *Set }

// Policies returns the snapshot.
func (s Static) Policies() *Set { return s.Set }

// Combined serves the union of several sources' policies as one Set: all policies matching an
// image must pass, wherever they came from.
type Combined struct {
	sources []Source
	last    atomic.Pointer[combinedSnapshot]
}

type combinedSnapshot struct {
	parts []*Set
	set   *Set
}

// Combine returns a Source serving the policies of every source together.
func Combine(sources ...Source) *Combined {
	return &Combined{sources: sources}
}

// Policies returns the union of the sources' current snapshots. It is rebuilt only when one of
// them was swapped; otherwise the previous union is returned without allocating.
func (c *Combined) Policies() *Set {
	if last := c.last.Load(); last != nil {
		same := true
		for i, s := range c.sources {
			if s.Policies() != last.parts[i] {
				same = false
				break
			}
		}
		if same {
			return last.set
		}
	}
	parts := make([]*Set, len(c.sources))
	var all []*Policy
	for i, s := range c.sources {
		parts[i] = s.Policies()
		all = append(all, parts[i].Policies()...)
	}
	snap := &combinedSnapshot{parts: parts, set: NewSet(all...)}
	c.last.Store(snap)
	return snap.set
}
