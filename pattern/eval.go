package pattern

import (
	"math/bits"
	"slices"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/switchyard/switchyard/internal/jsontext"
)

// evalState is the scratch space of one Match call. It is pooled, so that
// matching allocates nothing once the buffers have grown to fit.
type evalState struct {
	snap *snapshot
	ev   []byte
	// trusted is set for events the caller has validated already.
	trusted bool
	// done is set once the scan of a trusted event has read all it needs.
	done bool

	occs  []occurrence
	hits  []hit
	trail []trailStep // arrays enclosing the current position
	// trails stores the trail of every occurrence, end to end.
	trails    []trailStep
	nextArray int32
	// trailSaved says that trails[savedStart:] holds the current trail.
	trailSaved bool
	savedStart int32

	skipStack []byte
	scratch   []byte // unescaped keys
	strBuf    []byte // unescaped or repaired string values
	foldBuf   []byte
	foldBuf2  []byte
	numBuf    []byte

	cands []*crule
	// out is the caller's dst, to which the ids of patterns met by a
	// single value are appended while scanning.
	out []string
	// curNode is the path of the value being handled, curOcc its
	// occurrence or -1 if none was recorded yet.
	curNode *pathNode
	curOcc  int32
	// Where the current value is (see occurrence).
	curKind          Kind
	curEsc           bool
	curStart, curEnd int32
	sat              []int32 // per-field lists of occurrences, for consistency checks
	pick             []int32
	chosen           []int32
	// ruleSeen and patSeen are indexed by crule.num and cpattern.num;
	// ruleHead holds a candidate rule's last hit.
	ruleSeen, patSeen []uint32
	ruleHead          []int32
	epoch             uint32
	// pathHead holds the last occurrence at each path (by pathID), valid
	// where pathEpoch equals epoch.
	pathHead  []int32
	pathEpoch []uint32
}

var statePool = sync.Pool{New: func() any { return &evalState{} }}

// occurrence is one scalar value found at a used path.
type occurrence struct {
	prev         int32 // the previous occurrence at the same path, or -1
	tStart, tEnd int32 // its trail in evalState.trails
	// Where the value is in the event, for fields judged after the scan.
	kind       Kind
	esc        bool
	start, end int32
	// num caches the ComparableNumber of a number (numState 1: comparable,
	// 2: not, 3: comparable, but num is only approximate (see
	// eventNumberOf), 0: not computed yet).
	numState uint8
	num      float64
}

// hit is a value meeting the anchor of a rule.
type hit struct {
	occ  int32
	prev int32 // the rule's previous hit, or -1
}

// trailStep locates a value in one enclosing array: which array (numbered
// in document order) and which element.
type trailStep struct {
	arr, idx int32
}

func (s *evalState) reset(snap *snapshot, ev []byte, trusted bool, dst []string) {
	s.snap, s.ev, s.trusted, s.done = snap, ev, trusted, false
	s.out = dst
	s.newEpoch()
	s.occs, s.hits, s.trail, s.trails = s.occs[:0], s.hits[:0], s.trail[:0], s.trails[:0]
	s.cands = s.cands[:0]
	s.nextArray = 0
	s.trailSaved = false
}

// release drops references so the pooled state pins neither the event nor
// an old snapshot.
func (s *evalState) release() {
	s.snap, s.ev = nil, nil
	clear(s.cands)
	s.out = nil
	s.curNode = nil
}

func (s *evalState) addOcc(node *pathNode) int32 {
	// Values of one array element share their trail: store it once.
	if !s.trailSaved {
		s.savedStart = int32(len(s.trails))
		s.trails = append(s.trails, s.trail...)
		s.trailSaved = true
	}
	path := node.idx.pathID
	n := int32(len(s.occs))
	if len(s.occs) == cap(s.occs) {
		s.occs = slices.Grow(s.occs, 1)
	}
	s.occs = s.occs[:n+1]
	// Field by field: a composite literal would be built on the stack in
	// narrow stores and copied with wide loads, which stalls.
	o := &s.occs[n]
	o.prev = s.lastAt(path)
	o.tStart, o.tEnd = s.savedStart, int32(len(s.trails))
	o.kind, o.esc, o.start, o.end = s.curKind, s.curEsc, s.curStart, s.curEnd
	o.numState, o.num = 0, 0
	s.pathHead[path] = n
	return n
}

// startValue begins the handling of one value at node, found at
// s.ev[start:end]. Its occurrence is recorded only when needed: when a
// field of a bigger rule hits it, when fields judged after the scan may
// want it, or when the path's presence matters (exists:false). Where the
// later fields are all numeric (valueIndex.laterNum), onValue records only
// the numbers that may meet them.
func (s *evalState) startValue(node *pathNode, kind Kind, start, end int, esc bool) {
	s.curNode, s.curOcc = node, -1
	s.curKind, s.curEsc, s.curStart, s.curEnd = kind, esc, int32(start), int32(end)
	if idx := node.idx; idx.laterOther > 0 || idx.absent > 0 {
		s.curOcc = s.addOcc(node)
	}
}

// hit records that the current value meets f.
func (s *evalState) hit(f *cfield) {
	if f.simple {
		// The whole pattern is met, nothing else to check.
		if s.patSeen[f.patNum] != s.epoch {
			s.patSeen[f.patNum] = s.epoch
			s.out = append(s.out, f.patID)
		}
		return
	}
	if s.curOcc < 0 {
		s.curOcc = s.addOcc(s.curNode)
	}
	// Only anchors are indexed, so every hit makes its rule a candidate;
	// a rule's hits are chained for ruleMatches.
	r := f.rule
	prev := int32(-1)
	if s.ruleSeen[r.num] != s.epoch {
		s.ruleSeen[r.num] = s.epoch
		s.cands = append(s.cands, r)
	} else {
		prev = s.ruleHead[r.num]
	}
	s.ruleHead[r.num] = int32(len(s.hits))
	s.hits = append(s.hits, hit{occ: s.curOcc, prev: prev})
}

func (s *evalState) hitAll(fs []*cfield) {
	for _, f := range fs {
		s.hit(f)
	}
}

// bytesView lets a transient []byte be read as a string without copying;
// the string must not outlive the bytes.
func bytesView(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// onString handles a string value at a used path; raw is s.ev[start:end],
// the body between the quotes.
func (s *evalState) onString(node *pathNode, start, end int, esc bool) {
	v := s.stringAt(start, end, esc, &s.strBuf)
	s.startValue(node, KindString, start, end, esc)
	idx := node.idx
	if idx.exact != nil {
		s.hitAll(idx.exact.lookup(hashValue(tagString, v), tagString, v))
	}
	if n := idx.fwd; n != nil {
		if n = n.next(tagString); n != nil {
			s.walk(n, v, false)
		}
	}
	if idx.rev != nil {
		s.walk(idx.rev, v, true)
	}
	if idx.fold != nil || idx.frev != nil || idx.foldedExact > 0 {
		s.foldBuf = foldAppend(s.foldBuf[:0], v)
		if idx.foldedExact > 0 {
			s.hitAll(idx.exact.lookup(hashValue(tagFolded, s.foldBuf), tagFolded, s.foldBuf))
		}
		if idx.fold != nil {
			s.walk(idx.fold, s.foldBuf, false)
		}
		if idx.frev != nil {
			s.walk(idx.frev, s.foldBuf, true)
		}
	}
	str := bytesView(v)
	for _, w := range idx.wildAny {
		if matchWildcardTokens(w.toks, str) {
			s.hit(w.f)
		}
	}
	if len(idx.slowStr) != 0 {
		s.slowHits(idx.slowStr, Value{Kind: KindString, Str: str}, 0, false)
	}
	if len(idx.slowAny) != 0 {
		if idx.ab.clears(v) {
			// Excluded by none: every anything-but condition is met.
			for _, f := range idx.ab.fields {
				s.hit(f)
			}
		} else {
			s.slowHits(idx.slowAny, Value{Kind: KindString, Str: str}, 0, false)
		}
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// walk runs v through a trie, forwards or backwards, collecting the fields
// met on the way: prefixes, and wildcards to check in full.
func (s *evalState) walk(n *bnode, v []byte, backwards bool) {
	str := bytesView(v)
	for i := 0; ; i++ {
		if len(n.pre) != 0 {
			s.hitAll(n.pre)
		}
		for _, w := range n.wild {
			if matchWildcardTokens(w.toks, str) {
				s.hit(w.f)
			}
		}
		if i == len(v) {
			return
		}
		c := v[i]
		if backwards {
			c = v[len(v)-1-i]
		}
		if n = n.next(c); n == nil {
			return
		}
	}
}

// stringAt returns the text of the string whose body is s.ev[start:end],
// decoded into *buf if it needs to be. The string must have been scanned.
func (s *evalState) stringAt(start, end int, esc bool, buf *[]byte) []byte {
	v := s.ev[start:end]
	if esc {
		*buf = jsontext.AppendUnescaped((*buf)[:0], v)
		v = *buf
	}
	if !isASCII(v) && !utf8.Valid(v) {
		// Decoders replace invalid UTF-8 with U+FFFD; values must compare
		// the same way here.
		*buf = []byte(string([]rune(string(v))))
		v = *buf
	}
	return v
}

// onValue handles a number or literal at a used path.
func (s *evalState) onValue(node *pathNode, kind Kind, start, end int) {
	s.startValue(node, kind, start, end, false)
	idx := node.idx
	lit := s.ev[start:end]
	v := Value{Kind: kind, Str: bytesView(lit)}
	if kind != KindNumber {
		if idx.exact != nil {
			key := tagKeys[2:3]
			switch kind {
			case KindTrue:
				key = tagKeys[:1]
			case KindFalse:
				key = tagKeys[1:2]
			}
			s.hitAll(idx.exact.lookup(hashValue(key[0], nil), key[0], nil))
		}
		if len(idx.slowAny) != 0 {
			s.slowHits(idx.slowAny, v, 0, false)
		}
		return
	}
	// pend: whether later fields may want the value is still to be decided.
	pend := s.curOcc < 0 && len(idx.laterNum) != 0
	if idx.exact == nil && len(idx.slowNum) == 0 && !idx.ab.numbers && !pend {
		// Fields judged after the scan decode it if they need it; the
		// anything-but conditions here exclude no number.
		if len(idx.slowAny) != 0 {
			s.slowHits(idx.slowAny, v, 0, false)
		}
		return
	}
	if idx.exact == nil && !idx.ab.numbers && s.quickRanges(node, idx, lit, pend) {
		if len(idx.slowAny) != 0 {
			s.slowHits(idx.slowAny, v, 0, false)
		}
		return
	}
	// Numeric ranges alone can do with an approximate value, as long as
	// it is not near their bounds.
	num, class, approx := eventNumberOf(lit, idx.exact != nil || idx.ab.numbers)
	comparable := class != numNone
	if comparable && len(idx.slowNum) != 0 {
		i := 0
		if approx {
			// The exact value lies strictly between lo and hi.
			tol := approxTolerance(num)
			lo, hi := num-tol, num+tol
			for ; i < len(idx.slowNum); i++ {
				n := &idx.slowNum[i]
				if n.lo <= lo && hi <= n.hi {
					s.hit(n.f)
					continue
				}
				if hi < n.lo || n.hi < lo {
					continue
				}
				num, class = eventNumberClass(lit)
				approx = false
				break
			}
		}
		for ; i < len(idx.slowNum); i++ {
			if n := &idx.slowNum[i]; n.lo <= num && num <= n.hi {
				s.hit(n.f)
			}
		}
	}
	if pend && s.curOcc < 0 && comparable && s.mayMeet(idx.laterNum, num, approx) {
		s.curOcc = s.addOcc(node)
	}
	if s.curOcc >= 0 {
		// Later-judged fields will want it too.
		o := &s.occs[s.curOcc]
		o.num, o.numState = num, 2
		switch {
		case approx:
			o.numState = 3
		case comparable:
			o.numState = 1
		}
	}
	if idx.exact != nil {
		if comparable {
			key := appendNumberValueKey(s.numBuf[:0], num)
			s.numBuf = key
			s.hitAll(idx.exact.lookup(hashValue(key[0], key[1:]), key[0], key[1:]))
		}
		// Pattern numbers that are not comparable match the identical
		// literal; with six decimals or fewer, an event number is never
		// one of those.
		if class == numNone || class == numPrecise && idx.litNumbers > 0 {
			s.hitAll(idx.exact.lookup(hashValue(tagNumberLit, lit), tagNumberLit, lit))
		}
	}
	if len(idx.slowAny) != 0 {
		s.slowHits(idx.slowAny, v, num, comparable)
	}
}

// quickRanges settles the numeric ranges of idx (and, with pend, whether
// later fields may want the value) from the first digits of the number
// lit when it can (quickNum), and reports whether it did. Recorded
// occurrences then decode the number only if a later field asks.
func (s *evalState) quickRanges(node *pathNode, idx *valueIndex, lit []byte, pend bool) bool {
	lo, hi, ok := quickNum(lit)
	if !ok {
		return false
	}
	if len(idx.slowNum) > 64 {
		return false
	}
	// Without branches: which ranges hold the interval, and whether any
	// neither holds it nor excludes it (too close to a bound).
	var in, unsettled uint64
	for i := range idx.slowNum {
		n := &idx.slowNum[i]
		inside := b2u(n.lo <= lo) & b2u(hi <= n.hi)
		outside := b2u(hi < n.lo) | b2u(n.hi < lo)
		unsettled |= 1 ^ (inside | outside)
		in |= inside << uint(i)
	}
	if unsettled != 0 {
		return false
	}
	for ; in != 0; in &= in - 1 {
		s.hit(idx.slowNum[bits.TrailingZeros64(in)].f)
	}
	if pend && s.curOcc < 0 {
		for i := range idx.laterNum {
			if n := &idx.laterNum[i]; n.lo <= hi && lo <= n.hi {
				s.curOcc = s.addOcc(node)
				break
			}
		}
	}
	return true
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// mayMeet reports whether num (approximate if approx is set) may lie in
// one of the ranges.
func (s *evalState) mayMeet(ranges []numCond, num float64, approx bool) bool {
	lo, hi := num, num
	if approx {
		tol := approxTolerance(num)
		lo, hi = num-tol, num+tol
	}
	for i := range ranges {
		if n := &ranges[i]; n.lo <= hi && lo <= n.hi {
			return true
		}
	}
	return false
}

// slowHits tests the conditions that have no index, one by one. The
// common operators are spelled out here rather than left to referenceCond,
// so that the event value is decoded or folded once, not once per
// condition; the property and fuzz tests hold the two to the same answers.
// num and comparable are the event number's ComparableNumber.
func (s *evalState) slowHits(slow []slowCond, v Value, num float64, comparable bool) {
	isStr := v.Kind == KindString
	var folded string
	for i := range slow {
		sc := &slow[i]
		c := sc.c
		ok := true
		switch c.Op {
		case OpAnythingBut:
			for j := range c.Values {
				x := &c.Values[j]
				if x.Kind == KindString && isStr && x.Str == v.Str || x.Kind == KindNumber && comparable && x.Num == num {
					ok = false
					break
				}
			}
		case OpAnythingButPrefix:
			for j := 0; isStr && j < len(c.Strs); j++ {
				if x := c.Strs[j]; len(v.Str) >= len(x) && v.Str[:len(x)] == x {
					ok = false
					break
				}
			}
		case OpAnythingButSuffix:
			for j := 0; isStr && j < len(c.Strs); j++ {
				if x := c.Strs[j]; len(v.Str) >= len(x) && v.Str[len(v.Str)-len(x):] == x {
					ok = false
					break
				}
			}
		case OpAnythingButIgnoreCase:
			if isStr {
				if folded == "" {
					s.foldBuf2 = foldAppend(s.foldBuf2[:0], unsafe.Slice(unsafe.StringData(v.Str), len(v.Str)))
					folded = bytesView(s.foldBuf2)
				}
				ok = !slices.Contains(sc.folded, folded)
			}
		case OpAnythingButWildcard:
			for j := 0; isStr && j < len(sc.toks); j++ {
				if matchWildcardTokens(sc.toks[j], v.Str) {
					ok = false
					break
				}
			}
		default:
			ok = referenceCond(c, v)
		}
		if ok {
			s.hit(sc.f)
		}
	}
}

var tagKeys = []byte{tagTrue, tagFalse, tagNull}

// collect appends the ids of the patterns whose rules are met.
func (s *evalState) collect() []string {
	dst := s.out
	s.cands = append(s.cands, s.snap.always...)
	for _, r := range s.cands {
		if p := r.pat; s.patSeen[p.num] != s.epoch && s.ruleMatches(r) {
			s.patSeen[p.num] = s.epoch
			dst = append(dst, p.id)
		}
	}
	return dst
}

// newEpoch starts the bookkeeping of which rules and patterns an event has
// dealt with: a slot equal to the epoch means "seen", so nothing needs
// clearing between events.
func (s *evalState) newEpoch() {
	if n := int(s.snap.nRules); len(s.ruleSeen) < n {
		s.ruleSeen = append(s.ruleSeen, make([]uint32, n-len(s.ruleSeen))...)
		s.ruleHead = append(s.ruleHead, make([]int32, n-len(s.ruleHead))...)
	}
	if n := int(s.snap.nPatterns); len(s.patSeen) < n {
		s.patSeen = append(s.patSeen, make([]uint32, n-len(s.patSeen))...)
	}
	if n := int(s.snap.nPaths); len(s.pathEpoch) < n {
		s.pathEpoch = append(s.pathEpoch, make([]uint32, n-len(s.pathEpoch))...)
		s.pathHead = append(s.pathHead, make([]int32, n-len(s.pathHead))...)
	}
	if s.epoch++; s.epoch == 0 {
		clear(s.ruleSeen)
		clear(s.patSeen)
		clear(s.pathEpoch)
		s.epoch = 1
	}
}

// ruleMatches reports whether every field of r is met, by values that lie
// in the same element of every array of objects they share.
func (s *evalState) ruleMatches(r *crule) bool {
	if len(r.fields) == 1 && r.anchor != nil {
		// The anchor was hit, and alone there is nothing to be consistent
		// with.
		return true
	}
	// sat holds, per field, the occurrences meeting it; a field met by
	// absence (exists:false) holds none and constrains nothing.
	sat := s.sat[:0]
	bounds := s.pick[:0]
	needCheck := false
	for _, f := range r.fields {
		start := len(sat)
		if f == r.anchor {
			for i := s.ruleHead[r.num]; i >= 0; i = s.hits[i].prev {
				sat = append(sat, s.hits[i].occ)
			}
		} else {
			sat = s.judge(f, sat)
		}
		if len(sat) == start {
			if !f.existsFalse || s.present(f) {
				s.sat, s.pick = sat, bounds
				return false
			}
		} else {
			for _, o := range sat[start:] {
				if oc := &s.occs[o]; oc.tEnd != oc.tStart {
					needCheck = true
				}
			}
		}
		bounds = append(bounds, int32(start), int32(len(sat)))
	}
	s.sat = sat
	s.pick = bounds
	if !needCheck {
		return true
	}
	if cap(s.chosen) < len(r.fields) {
		s.chosen = make([]int32, 0, 2*len(r.fields))
	}
	return s.consistent(sat, bounds, 0, s.chosen[:0])
}

// lastAt returns the last occurrence recorded at the path, or -1.
func (s *evalState) lastAt(path int32) int32 {
	if s.pathEpoch[path] != s.epoch {
		s.pathEpoch[path] = s.epoch
		s.pathHead[path] = -1
	}
	return s.pathHead[path]
}

// judge appends the occurrences meeting f, a field that was not indexed:
// only the anchor of a rule is, so that the work of the other fields grows
// with the rules an event makes candidates, not with all rules.
func (s *evalState) judge(f *cfield, sat []int32) []int32 {
	for i := s.lastAt(f.pathID); i >= 0; i = s.occs[i].prev {
		if s.occMeets(f, &s.occs[i]) {
			sat = append(sat, i)
		}
	}
	return sat
}

// occMeets reports whether the value of o meets one of f's conditions.
func (s *evalState) occMeets(f *cfield, o *occurrence) bool {
	var v Value
	haveV := false
	for j := range f.conds {
		c := &f.conds[j]
		if c.Op == OpNumeric {
			if o.kind != KindNumber {
				continue
			}
			// Decoded once per value, not once per condition and rule.
			if o.numState == 0 {
				o.numState = 2
				if n, class, approx := eventNumberOf(s.ev[o.start:o.end], false); class != numNone {
					o.num, o.numState = n, 1
					if approx {
						o.numState = 3
					}
				}
			}
			n := &f.ranges[j]
			if o.numState == 3 {
				// The exact value lies strictly between lo and hi.
				tol := approxTolerance(o.num)
				lo, hi := o.num-tol, o.num+tol
				if n.lo <= lo && hi <= n.hi {
					return true
				}
				if hi < n.lo || n.hi < lo {
					continue
				}
				o.num, _ = eventNumberClass(s.ev[o.start:o.end])
				o.numState = 1
			}
			if o.numState == 1 && n.lo <= o.num && o.num <= n.hi {
				return true
			}
			continue
		}
		if !haveV {
			haveV = true
			v = Value{Kind: o.kind, Str: bytesView(s.ev[o.start:o.end])}
			if o.kind == KindString {
				v.Str = bytesView(s.stringAt(int(o.start), int(o.end), o.esc, &s.strBuf))
			}
		}
		if referenceCond(c, v) {
			return true
		}
	}
	return false
}

// present reports whether the event has a value at f's path.
func (s *evalState) present(f *cfield) bool { return s.lastAt(f.pathID) >= 0 }

// consistent searches for one occurrence per field (fields from k on) such
// that all chosen occurrences agree on the element of every array they
// share; chosen lists those picked so far.
func (s *evalState) consistent(sat, bounds []int32, k int, chosen []int32) bool {
	if 2*k == len(bounds) {
		return true
	}
	lo, hi := bounds[2*k], bounds[2*k+1]
	if lo == hi {
		return s.consistent(sat, bounds, k+1, chosen)
	}
	for _, o := range sat[lo:hi] {
		ok := true
		for _, c := range chosen {
			if !s.agree(o, c) {
				ok = false
				break
			}
		}
		if ok && s.consistent(sat, bounds, k+1, append(chosen, o)) {
			return true
		}
	}
	return false
}

// agree reports whether two occurrences sit in the same element of every
// array enclosing both. Trails run from the root, so the arrays they share
// are a common prefix of both.
func (s *evalState) agree(a, b int32) bool {
	ta := s.trails[s.occs[a].tStart:s.occs[a].tEnd]
	tb := s.trails[s.occs[b].tStart:s.occs[b].tEnd]
	for i := 0; i < len(ta) && i < len(tb) && ta[i].arr == tb[i].arr; i++ {
		if ta[i].idx != tb[i].idx {
			return false
		}
	}
	return true
}
