package audit

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Checkpoint is the chain's head at a position, signed: whoever holds the public key can check that the
// events up to Position hash to Hash, without trusting the database that stores them.
type Checkpoint struct {
	Position  int64
	Hash      Hash
	SealedAt  time.Time
	PublicKey ed25519.PublicKey
	Signature []byte
}

// SignedBytes are the bytes a checkpoint's signature covers, plain text so that anyone can rebuild them:
//
//	jobserver audit checkpoint/1
//	position: 1000
//	hash: <64 lowercase hex digits>
//	sealed at: 2026-12-03T09:03:00.123456Z
func (c Checkpoint) SignedBytes() []byte {
	return fmt.Appendf(nil, "jobserver audit checkpoint/1\nposition: %d\nhash: %x\nsealed at: %s\n",
		c.Position, c.Hash[:], FormatTime(c.SealedAt))
}

// Sign makes a checkpoint of the head at position, signed with key.
func Sign(key ed25519.PrivateKey, position int64, head Hash, at time.Time) Checkpoint {
	c := Checkpoint{Position: position, Hash: head, SealedAt: at.UTC().Truncate(time.Microsecond),
		PublicKey: key.Public().(ed25519.PublicKey)}
	c.Signature = ed25519.Sign(key, c.SignedBytes())
	return c
}

// Valid reports whether the signature is the checkpoint's key's signature of its fields.
func (c Checkpoint) Valid() bool {
	return len(c.PublicKey) == ed25519.PublicKeySize && ed25519.Verify(c.PublicKey, c.SignedBytes(), c.Signature)
}

// ParseSigningKey reads an Ed25519 private key: the base64 of its 32-byte seed (`openssl rand -base64 32`),
// or a PEM "PRIVATE KEY" block in PKCS #8 (`openssl genpkey -algorithm ed25519`).
func ParseSigningKey(s string) (ed25519.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil || block.Type != "PRIVATE KEY" {
			return nil, errors.New("not a PEM PRIVATE KEY block")
		}
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("not a PKCS #8 private key")
		}
		ed, ok := key.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("a %T, not an Ed25519 key", key)
		}
		return ed, nil
	}
	seed, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("want the base64 of a 32-byte seed, or a PEM PKCS #8 Ed25519 private key")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// FormatPublicKey writes a public key as `jobserver audit public-key` prints it: base64 of its 32 bytes.
func FormatPublicKey(key ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(key) }

// ParsePublicKey reads a public key written by FormatPublicKey, or a PEM "PUBLIC KEY" block.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil || block.Type != "PUBLIC KEY" {
			return nil, errors.New("not a PEM PUBLIC KEY block")
		}
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, errors.New("not a PKIX public key")
		}
		ed, ok := key.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("a %T, not an Ed25519 key", key)
		}
		return ed, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("want the base64 of a 32-byte Ed25519 public key (as `jobserver audit public-key` prints it)")
	}
	return ed25519.PublicKey(b), nil
}
