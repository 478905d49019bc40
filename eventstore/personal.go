package eventstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
)

// Personal data in events is sealed under a data key per person (its subject), so destroying the key
// forgets the person while the events stay as they were. A sealed value is
//
//	1 byte format (1) | 16 bytes key id | 12 bytes nonce | AES-256-GCM ciphertext and tag
//
// with the key id as additional data. The key id, random, names the key without naming the subject: a
// subject's key made again after it was destroyed has another id, so what the old key sealed stays
// unreadable.

// KeyID names one data key.
type KeyID [16]byte

// personalFormat is the first byte of every sealed value.
const personalFormat = 1

// personalOverhead is what sealing adds to the plaintext.
const personalOverhead = 1 + len(KeyID{}) + 12 + 16

// ErrUnknownPersonalKey is returned for a value sealed under a key the store never held (or altered): not
// a forgotten person, but a log that does not belong with these keys.
var ErrUnknownPersonalKey = errors.New("personal data is sealed under a key this store never held")

// PseudonymSubject is the subject of the key behind Pseudonym; it is never forgotten.
const PseudonymSubject = "jobserver:pseudonyms"

// DataKey is one unwrapped data key.
type DataKey struct {
	ID   KeyID
	aead cipher.AEAD
	raw  []byte
}

// NewDataKey makes a fresh random key.
func NewDataKey() (DataKey, error) {
	var id KeyID
	raw := make([]byte, 32)
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	_, _ = rand.Read(raw)
	return DataKeyOf(id, raw)
}

// DataKeyOf is the key id names with the 32 bytes raw.
func DataKeyOf(id KeyID, raw []byte) (DataKey, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return DataKey{}, fmt.Errorf("data key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return DataKey{}, fmt.Errorf("data key: %w", err)
	}
	return DataKey{ID: id, aead: aead, raw: raw}, nil
}

// Raw is the key's bytes, to be wrapped for storage.
func (k DataKey) Raw() []byte { return k.raw }

// Seal encrypts plaintext under the key.
func (k DataKey) Seal(plaintext []byte) []byte {
	out := make([]byte, 0, personalOverhead+len(plaintext))
	out = append(out, personalFormat)
	out = append(out, k.ID[:]...)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, k.ID[:])
}

// Open decrypts a value the key sealed.
func (k DataKey) Open(sealed []byte) ([]byte, error) {
	id, err := SealedKeyID(sealed)
	if err != nil || id != k.ID {
		return nil, ErrUnknownPersonalKey
	}
	plaintext, err := k.aead.Open(nil, sealed[1+len(id):1+len(id)+12], sealed[1+len(id)+12:], id[:])
	if err != nil {
		return nil, ErrUnknownPersonalKey
	}
	return plaintext, nil
}

// Pseudonym is a keyed hash of value (HMAC-SHA-256, 128 bits in hex): a name for it that says nothing
// to whoever lacks the key.
func (k DataKey) Pseudonym(value string) string {
	mac := hmac.New(sha256.New, k.raw)
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// SealedKeyID reads which key sealed a value.
func SealedKeyID(sealed []byte) (KeyID, error) {
	if len(sealed) < personalOverhead || sealed[0] != personalFormat {
		return KeyID{}, ErrUnknownPersonalKey
	}
	return KeyID(sealed[1 : 1+len(KeyID{})]), nil
}

// ProcessKeys holds data keys in this process's memory only: what they seal cannot be opened by another
// process, nor after this one ends. It is what the kits fall back on when they are given no keys, for tests
// and tools that never read an earlier process's log; the server wires the keys table (pgstore.PersonalKeys).
type ProcessKeys struct {
	mu        sync.Mutex
	bySubject map[string]DataKey
	byID      map[KeyID]string // the subject of each key
	forgotten map[KeyID]bool
}

var processKeys = &ProcessKeys{bySubject: map[string]DataKey{}, byID: map[KeyID]string{}, forgotten: map[KeyID]bool{}}

// Process returns this process's keys (one set, shared by every kit that falls back on it).
func Process() *ProcessKeys { return processKeys }

// SealPersonal seals plaintext under subject's key.
func (p *ProcessKeys) SealPersonal(subject string, plaintext []byte) ([]byte, error) {
	k, err := p.key(subject)
	if err != nil {
		return nil, err
	}
	return k.Seal(plaintext), nil
}

func (p *ProcessKeys) key(subject string) (DataKey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k, ok := p.bySubject[subject]; ok {
		return k, nil
	}
	k, err := NewDataKey()
	if err != nil {
		return DataKey{}, err
	}
	p.bySubject[subject], p.byID[k.ID] = k, subject
	return k, nil
}

// OpenPersonal opens a value sealed in this process.
func (p *ProcessKeys) OpenPersonal(sealed []byte) ([]byte, string, bool, error) {
	id, err := SealedKeyID(sealed)
	if err != nil {
		return nil, "", false, err
	}
	p.mu.Lock()
	subject, ok := p.byID[id]
	forgotten := p.forgotten[id]
	k := p.bySubject[subject]
	p.mu.Unlock()
	switch {
	case forgotten:
		return nil, "", true, nil
	case !ok:
		return nil, "", false, ErrUnknownPersonalKey
	}
	plaintext, err := k.Open(sealed)
	return plaintext, subject, false, err
}

// Pseudonym names value by a keyed hash.
func (p *ProcessKeys) Pseudonym(value string) (string, error) {
	k, err := p.key(PseudonymSubject)
	if err != nil {
		return "", err
	}
	return k.Pseudonym(value), nil
}

// ForgetSubjects destroys the subjects' keys.
func (p *ProcessKeys) ForgetSubjects(_ context.Context, subjects ...string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range subjects {
		if k, ok := p.bySubject[s]; ok {
			p.forgotten[k.ID] = true
			delete(p.byID, k.ID)
			delete(p.bySubject, s)
		}
	}
	return nil
}
