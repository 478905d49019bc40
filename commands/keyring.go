package commands

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Keyring encrypts secrets that must be read back (a researcher's GitHub token, a one-time token carried
// in a form) with AES-256-GCM. Each key is derived from a server secret key (JOBSERVER_SECRET_KEY) for
// this purpose alone, so it differs from the key that signs cookies. New secrets are sealed under the
// current key; secrets sealed under an older key still open while that key is listed, until
// `jobserver admin reencrypt-secrets` has moved them to the current one.
type Keyring struct {
	current keyID
	keys    map[keyID]cipher.AEAD
}

// keyID names a key inside a sealed value without revealing it: the first bytes of a hash of the key.
type keyID [8]byte

// sealVersion is the first byte of every sealed value: the format below.
const sealVersion = 1

// sealOverhead is what sealing adds: version, key id, nonce and the GCM tag.
const sealOverhead = 1 + len(keyID{}) + 12 + 16

// ErrUnsealable is returned for a value that was not sealed by this keyring: altered, cut short, sealed
// for another purpose, or under a key that is no longer listed.
var ErrUnsealable = errors.New("the value cannot be opened with the configured secret keys")

// NewKeyring derives the sealing keys from the current server secret key and any older ones still listed.
func NewKeyring(current []byte, older ...[]byte) (*Keyring, error) {
	k := &Keyring{keys: map[keyID]cipher.AEAD{}}
	for i, secret := range append([][]byte{current}, older...) {
		if len(secret) < 32 {
			return nil, fmt.Errorf("keyring: secret key %d is %d bytes; it needs at least 32", i+1, len(secret))
		}
		key, err := hkdf.Key(sha256.New, secret, nil, "jobserver sealed secrets v1", 32)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		sum := sha256.Sum256(key)
		var id keyID
		copy(id[:], sum[:])
		if i == 0 {
			k.current = id
		}
		k.keys[id] = aead
	}
	return k, nil
}

// Seal encrypts plaintext under the current key. bound is authenticated but not stored (what the value
// belongs to, such as the key it is stored under): opening it with anything else fails, so a sealed value
// cannot be moved to another user or another purpose.
func (k *Keyring) Seal(plaintext, bound []byte) []byte {
	out := make([]byte, 0, sealOverhead+len(plaintext))
	out = append(out, sealVersion)
	out = append(out, k.current[:]...)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	out = append(out, nonce...)
	return k.keys[k.current].Seal(out, nonce, plaintext, bound)
}

// Open decrypts a value from Seal with the same bound data.
func (k *Keyring) Open(sealed, bound []byte) ([]byte, error) {
	if len(sealed) < sealOverhead || sealed[0] != sealVersion {
		return nil, ErrUnsealable
	}
	var id keyID
	copy(id[:], sealed[1:])
	aead, ok := k.keys[id]
	if !ok {
		return nil, ErrUnsealable
	}
	nonce := sealed[1+len(id) : 1+len(id)+12]
	plaintext, err := aead.Open(nil, nonce, sealed[1+len(id)+12:], bound)
	if err != nil {
		return nil, ErrUnsealable
	}
	return plaintext, nil
}

// SealedUnderCurrent reports whether a sealed value uses the current key; a re-encryption skips those.
func (k *Keyring) SealedUnderCurrent(sealed []byte) bool {
	return len(sealed) > len(keyID{}) && sealed[0] == sealVersion && keyID(sealed[1:1+len(keyID{})]) == k.current
}
