package sigv4

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"strings"
	"sync"
)

// AlgorithmV4a is Signature Version 4A: an ECDSA P-256 signature whose
// credential scope names no region ("<key id>/<date>/<service>/aws4_request");
// the regions it is good for are the signed header X-Amz-Region-Set ("*",
// or region names, "us-*" style wildcards allowed). The AWS SDKs sign with
// it the requests that may be served in any of several regions: for
// EventBridge, PutEvents to a global endpoint (EndpointId).
//
// The string to sign is SigV4's with this algorithm and the regionless
// scope; the key is derived from the secret (see v4aPublicKey). ECDSA
// signatures are randomized, so a signature is verified with the public
// key, not recomputed.
const AlgorithmV4a = "AWS4-ECDSA-P256-SHA256"

// regionSetHeader carries a SigV4a signature's regions.
const regionSetHeader = "X-Amz-Region-Set"

// v4aKeys caches the public keys derived from secrets: a derivation costs
// up to a few HMACs and a scalar multiplication.
type v4aKeys struct {
	mu sync.Mutex
	m  map[[2]string]*ecdsa.PublicKey // by key id and secret
}

func (c *v4aKeys) get(keyID, secret string) *ecdsa.PublicKey {
	id := [2]string{keyID, secret}
	c.mu.Lock()
	k, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = v4aPublicKey(keyID, secret)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSigningKeys {
		c.m = make(map[[2]string]*ecdsa.PublicKey)
	}
	c.m[id] = k
	c.mu.Unlock()
	return k
}

// nMinus2 is the order of P-256 less two.
var nMinus2 = new(big.Int).Sub(elliptic.P256().Params().N, big.NewInt(2))

// v4aPublicKey derives a key pair from an access key as SigV4a does, and
// returns its public half. The private scalar is found with the KDF in
// counter mode of NIST SP 800-108 (HMAC-SHA256, one 256-bit block): the key
// "AWS4A"+secret, the label AlgorithmV4a, the context the access key id
// followed by a one-byte counter from 1; the first output not above n-2,
// plus one, is the private key (so it lies in [1, n-1]).
func v4aPublicKey(keyID, secret string) *ecdsa.PublicKey {
	curve := elliptic.P256()
	mac := hmac.New(sha256.New, []byte("AWS4A"+secret))
	var fixed []byte
	for counter := 1; counter <= 254; counter++ {
		fixed = fixed[:0]
		fixed = binary.BigEndian.AppendUint32(fixed, 1) // the block: one is enough for 256 bits
		fixed = append(fixed, AlgorithmV4a...)
		fixed = append(fixed, 0)
		fixed = append(fixed, keyID...)
		fixed = append(fixed, byte(counter))
		fixed = binary.BigEndian.AppendUint32(fixed, 256) // the length of the output, in bits
		mac.Reset()
		mac.Write(fixed)
		c := new(big.Int).SetBytes(mac.Sum(nil))
		if c.Cmp(nMinus2) > 0 {
			continue
		}
		d := c.Add(c, big.NewInt(1))
		priv, err := ecdsa.ParseRawPrivateKey(curve, d.FillBytes(make([]byte, 32)))
		if err != nil {
			return nil // d is in [1, n-1]: cannot happen
		}
		return &priv.PublicKey
	}
	return nil // 254 outputs above n-2: as likely as never
}

// verifyV4a checks an ECDSA signature (hex of ASN.1 DER) of toSign.
func verifyV4a(pub *ecdsa.PublicKey, toSign, signature string) bool {
	if pub == nil {
		return false
	}
	sig, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(toSign))
	return ecdsa.VerifyASN1(pub, sum[:], sig)
}

// RegionSetCovers reports whether a SigV4a region set ("*", or
// comma-separated names with "*" wildcards; Identity.RegionSet) includes
// region: a server answering in region may take the signature.
func RegionSetCovers(set, region string) bool {
	for r := range strings.SplitSeq(set, ",") {
		if globRegion(strings.TrimSpace(r), region) {
			return true
		}
	}
	return false
}

// globRegion matches a region against a pattern in which "*" stands for
// any run of characters.
func globRegion(pattern, region string) bool {
	before, after, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == region
	}
	if !strings.HasPrefix(region, before) {
		return false
	}
	rest := region[len(before):]
	for i := 0; i <= len(rest); i++ {
		if globRegion(after, rest[i:]) {
			return true
		}
	}
	return false
}
