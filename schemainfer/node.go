package schemainfer

import (
	"slices"
)

// kind is the set of JSON types seen for one field.
type kind uint16

const (
	kNull kind = 1 << iota
	kBool
	kInt32
	kInt64
	kNumber
	kString
	kObject
	kArray
	// kAny is a field read back from a stored {}: any value, for good.
	kAny
)

// shape is what a node renders as; two nodes with the same shape, the same
// fields and the same required fields render the same document.
type shape uint8

const (
	shNone shape = iota // never observed (the items of arrays only ever empty)
	shAny
	shNull
	shBool
	shInt32
	shInt64
	shNumber
	shString
	shDateTime
	shObject
	shArray
)

// node is the inferred shape of the values seen at one path.
type node struct {
	kinds kind
	// notDateTime records a string value that was not an RFC 3339 date-time.
	notDateTime bool

	// objects counts the objects seen here; a field is required when its
	// present count equals it.
	objects uint64
	props   map[string]*node
	present uint64 // objects of the parent that had this field
	lastObj uint64 // the parent's object number this field was last counted in

	items *node // element shape of arrays; nil until an element is seen
}

func (n *node) shape() (shape, bool) {
	nullable := n.kinds&kNull != 0
	if n.kinds&kAny != 0 {
		return shAny, false
	}
	k := n.kinds &^ kNull
	switch k {
	case 0:
		if nullable {
			return shNull, false
		}
		return shNone, false
	case kBool:
		return shBool, nullable
	case kInt32:
		return shInt32, nullable
	case kInt64, kInt32 | kInt64:
		return shInt64, nullable
	case kString:
		if n.notDateTime {
			return shString, nullable
		}
		return shDateTime, nullable
	case kObject:
		return shObject, nullable
	case kArray:
		return shArray, nullable
	}
	if k&^(kInt32|kInt64|kNumber) == 0 {
		return shNumber, nullable
	}
	return shAny, false
}

func (n *node) child(key string) *node {
	if n.props == nil {
		n.props = make(map[string]*node)
	}
	c := n.props[key]
	if c == nil {
		c = &node{}
		n.props[key] = c
	}
	return c
}

func (n *node) required(c *node) bool { return n.objects > 0 && c.present == n.objects }

func (n *node) sortedKeys() []string {
	keys := make([]string, 0, len(n.props))
	for k := range n.props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// clone copies a subtree, so that a merged Schema shares nothing with the
// one it was merged from.
func (n *node) clone() *node {
	c := *n
	if n.props != nil {
		c.props = make(map[string]*node, len(n.props))
		for k, v := range n.props {
			c.props[k] = v.clone()
		}
	}
	if n.items != nil {
		c.items = n.items.clone()
	}
	return &c
}

// count is the number of nodes in the subtree below n (n excluded).
func (n *node) count() int {
	total := 0
	for _, c := range n.props {
		total += 1 + c.count()
	}
	if n.items != nil {
		total += 1 + n.items.count()
	}
	return total
}

// rendersAsNoItems reports whether items render as an array never seen
// with an element does: {"type":"object"}.
func rendersAsNoItems(n *node) bool {
	sh, nullable := n.shape()
	return sh == shNone || (sh == shObject && len(n.props) == 0 && !nullable)
}

// merge folds s into d and reports whether d's rendering changed. budget
// bounds the nodes merge may add; past it new fields are dropped, in sorted
// order so that which ones is deterministic.
func merge(d, s *node, budget *int) bool {
	before, beforeNull := d.shape()
	objBefore := d.objects
	d.kinds |= s.kinds
	d.notDateTime = d.notDateTime || s.notDateTime
	d.objects += s.objects
	after, afterNull := d.shape()
	changed := before != after || beforeNull != afterNull
	object := after == shObject

	if object && before == shObject && s.objects > 0 {
		// A field d required and s lacks is required no more.
		for k, c := range d.props {
			if _, ok := s.props[k]; !ok && c.present == objBefore {
				changed = true
				break
			}
		}
	}
	add := func(k string, sc *node) {
		size := 1 + sc.count()
		if *budget < size {
			return
		}
		*budget -= size
		if d.props == nil {
			d.props = make(map[string]*node)
		}
		d.props[k] = sc.clone()
		if object {
			changed = true
		}
	}
	var missing []string
	for k, sc := range s.props {
		dc := d.props[k]
		if dc == nil {
			missing = append(missing, k)
			continue
		}
		wasRequired := objBefore > 0 && dc.present == objBefore
		dc.present += sc.present
		if dc.lastObj < sc.lastObj {
			dc.lastObj = sc.lastObj
		}
		if merge(dc, sc, budget) && object {
			changed = true
		}
		if object && wasRequired != d.required(dc) {
			changed = true
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		for _, k := range missing {
			add(k, s.props[k])
		}
	}
	if s.items != nil {
		if d.items == nil {
			size := 1 + s.items.count()
			if *budget >= size {
				*budget -= size
				d.items = s.items.clone()
				if after == shArray && !rendersAsNoItems(d.items) {
					changed = true
				}
			}
		} else if merge(d.items, s.items, budget) && after == shArray {
			changed = true
		}
	}
	return changed
}
