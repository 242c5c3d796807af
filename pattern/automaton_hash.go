package pattern

import (
	"hash/maphash"
	"slices"
)

// Exact values live in a persistent hash trie rather than in the byte
// tries: a lookup then costs a few dependent memory loads whatever the
// value's length, where walking a byte trie costs a few per byte, and with
// many rules those loads miss the cache. Like the rest of the automaton it
// is updated by path copying.

var hashSeed = maphash.MakeSeed()

const (
	hBits    = 4
	hFan     = 1 << hBits
	hLeafMax = 8 // entries a leaf holds before it splits
)

// hnode is a node of the hash trie: interior nodes route on hBits of the
// hash per level; leaves hold entries.
type hnode struct {
	inner bool
	kids  [hFan]*hnode
	ents  []hentry
}

// hentry is one exact value (tag, see valueKey, and text) and the fields
// it satisfies.
type hentry struct {
	h      uint64
	tag    byte
	key    string
	fields []*cfield
}

func hashValue(tag byte, v []byte) uint64 {
	// The tag is mixed in rather than hashed, so that the value bytes need
	// not be copied next to it; entries compare the tag anyway.
	return maphash.Bytes(hashSeed, v) ^ uint64(tag)*0x9E3779B97F4A7C15
}

func (n *hnode) lookup(h uint64, tag byte, v []byte) []*cfield {
	for depth := 0; n != nil && n.inner; depth += hBits {
		n = n.kids[(h>>depth)&(hFan-1)]
	}
	if n == nil {
		return nil
	}
	for i := range n.ents {
		if e := &n.ents[i]; e.h == h && e.tag == tag && e.key == string(v) {
			return e.fields
		}
	}
	return nil
}

// update returns a copy of n in which fn has edited the fields of the
// entry for (tag, key); entries left without fields are dropped and empty
// nodes pruned (nil result).
func (n *hnode) update(h uint64, depth int, tag byte, key string, fn func([]*cfield) []*cfield) *hnode {
	if n == nil {
		fs := fn(nil)
		if len(fs) == 0 {
			return nil
		}
		return &hnode{ents: []hentry{{h: h, tag: tag, key: key, fields: fs}}}
	}
	c := &hnode{inner: n.inner, kids: n.kids}
	if n.inner {
		i := (h >> depth) & (hFan - 1)
		c.kids[i] = n.kids[i].update(h, depth+hBits, tag, key, fn)
		if c.kids == ([hFan]*hnode{}) {
			return nil
		}
		return c
	}
	c.ents = slices.Clone(n.ents)
	at := slices.IndexFunc(c.ents, func(e hentry) bool { return e.h == h && e.tag == tag && e.key == key })
	if at >= 0 {
		e := &c.ents[at]
		if e.fields = fn(slices.Clone(e.fields)); len(e.fields) == 0 {
			c.ents = slices.Delete(c.ents, at, at+1)
		}
	} else if fs := fn(nil); len(fs) > 0 {
		c.ents = append(c.ents, hentry{h: h, tag: tag, key: key, fields: fs})
	}
	switch {
	case len(c.ents) == 0:
		return nil
	case len(c.ents) > hLeafMax && depth+hBits < 64:
		// Split; entries whose hashes agree on every bit stay together in
		// a leaf at the bottom.
		s := &hnode{inner: true}
		for _, e := range c.ents {
			i := (e.h >> depth) & (hFan - 1)
			s.kids[i] = s.kids[i].insertEntry(e, depth+hBits)
		}
		return s
	}
	return c
}

// insertEntry adds a whole entry to a node being built by a split.
func (n *hnode) insertEntry(e hentry, depth int) *hnode {
	return n.update(e.h, depth, e.tag, e.key, func([]*cfield) []*cfield { return e.fields })
}
