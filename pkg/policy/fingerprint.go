package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"maps"
	"slices"
	"strings"
)

// fingerprint hashes what decides whether an image passes: authorities (by name, with their keys'
// PKIX DER), threshold, required annotations and the multi-arch rule. Mode, pinDigest and
// failurePolicy only change what is done with a verdict, so editing them keeps cached verdicts.
func fingerprint(p *Policy) (string, error) {
	h := sha256.New()
	writeString(h, "signet policy fingerprint v1")

	auths := slices.Clone(p.Authorities)
	slices.SortFunc(auths, func(a, b CompiledAuthority) int { return strings.Compare(a.Name, b.Name) })
	writeInt(h, len(auths))
	for _, a := range auths {
		writeString(h, a.Name)
		ders := make([][]byte, 0, len(a.Keys))
		for _, k := range a.Keys {
			der, err := pkixDER(k)
			if err != nil {
				return "", err
			}
			ders = append(ders, der)
		}
		slices.SortFunc(ders, bytes.Compare) // key order within an authority does not matter
		writeInt(h, len(ders))
		for _, der := range ders {
			writeString(h, string(der))
		}
	}

	writeInt(h, p.Threshold)
	keys := slices.Sorted(maps.Keys(p.Annotations))
	writeInt(h, len(keys))
	for _, k := range keys {
		writeString(h, k)
		writeString(h, p.Annotations[k])
	}
	writeString(h, string(p.MultiArch))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeString length-prefixes s, so that no two different inputs encode the same.
func writeString(h hash.Hash, s string) {
	writeInt(h, len(s))
	h.Write([]byte(s))
}

func writeInt(h hash.Hash, n int) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:])
}
