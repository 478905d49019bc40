package domain_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

// Sealed personal data is read straight from its JSON string when the string has no escapes (base64 needs
// none), and through encoding/json when a writer escaped some of it, which must read the same bytes.
func TestPersonalDataReadsEscapedJSONStrings(t *testing.T) {
	event := domain.NotificationEmailChanged{UserID: "01J0USER000000000000000001",
		Email: domain.NewPersonal("01J0USER000000000000000001", "mona@work.example.org")}
	name, version, data, err := sampleEvents.Encode(event)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]string
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	var escaped strings.Builder
	for _, c := range fields["Email"] {
		fmt.Fprintf(&escaped, `\u%04x`, c)
	}
	escapedData := strings.Replace(string(data), `"`+fields["Email"]+`"`, `"`+escaped.String()+`"`, 1)
	if escapedData == string(data) {
		t.Fatalf("the sealed address %q is not in %s", fields["Email"], data)
	}
	for _, stored := range []string{string(data), escapedData} {
		got, err := sampleEvents.Decode(name, version, []byte(stored))
		if err != nil {
			t.Fatalf("decode %s: %v", stored, err)
		}
		if email := got.(domain.NotificationEmailChanged).Email; email.Value() != "mona@work.example.org" || email.Subject() != event.UserID {
			t.Errorf("decode %s: address %q of %q", stored, email.Value(), email.Subject())
		}
	}
}
