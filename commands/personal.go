package commands

import (
	"context"
	"fmt"

	"github.com/mediciasafely/jobserver/domain"
)

// PersonalKeys is the port behind the personal data in events: the registry seals and opens with it, a
// reservation of a GitHub account is named by its Pseudonym, and forgetting a person destroys their keys.
// The server's is the keys table (pgstore.PersonalKeys); eventstore.ProcessKeys holds keys for one process.
type PersonalKeys interface {
	domain.PersonalKeys
	// Pseudonym is a keyed hash of value, the same for as long as the database lives.
	Pseudonym(value string) (string, error)
	// ForgetSubjects destroys the subjects' keys.
	ForgetSubjects(ctx context.Context, subjects ...string) error
}

// keys is the port behind the registry's keys.
func (l *EventLog) keys() (PersonalKeys, error) {
	keys, ok := l.registry.Keys().(PersonalKeys)
	if !ok {
		return nil, fmt.Errorf("the event log's personal keys (%T) cannot make pseudonyms or forget", l.registry.Keys())
	}
	return keys, nil
}

// Pseudonym is a keyed hash of value, to name a reservation of personal data (a GitHub account) without
// writing the data into a stream's name.
func (l *EventLog) Pseudonym(value string) (string, error) {
	keys, err := l.keys()
	if err != nil {
		return "", err
	}
	return keys.Pseudonym(value)
}

// ForgetSubjects destroys the keys of the subjects' personal data: nothing sealed under them opens again.
func (l *EventLog) ForgetSubjects(ctx context.Context, subjects ...string) error {
	keys, err := l.keys()
	if err != nil {
		return err
	}
	return keys.ForgetSubjects(ctx, subjects...)
}
