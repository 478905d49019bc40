package audit_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/mediciasafely/jobserver/projections/audit"
)

func TestCompactRemovesWhiteSpaceBetweenTokensOnly(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"a": 1, "b": [true, false, null], "c": {"d": "x y"}}`,
		"{\n\t\"quote \\\" and space\": \" \\\\\",\r\n \"e\" : [ 1 , 2.50e3 ] }",
		`"a string with \" escapes \\ and  spaces  "`,
		`  [ ]  `,
		`{}`,
	} {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(in)); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := audit.Compact([]byte("prefix:"), []byte(in)); string(got) != "prefix:"+want.String() {
			t.Errorf("Compact(%q) = %q, want %q", in, got, "prefix:"+want.String())
		}
	}
}
