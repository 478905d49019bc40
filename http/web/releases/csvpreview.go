package releases

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
)

// The preview of a CSV file shows its first rows, never the whole of a large file: it stops at
// previewRows rows or previewBytes bytes read, whichever comes first, and reads no further.
const (
	previewRows  = 5000
	previewBytes = 4 << 20
)

// csvPreview is the start of a CSV file as a table.
type csvPreview struct {
	Header []string
	Rows   [][]string
	// More is set when the file goes on past what is shown.
	More bool
	// Problem says why the rest could not be read as CSV, when it could not.
	Problem string
}

// readCSVPreview reads the header and up to maxRows rows of a CSV file, and at most about maxBytes of it.
// A file that is not valid CSV past some row shows the rows before it, and says so.
func readCSVPreview(r io.Reader, maxRows int, maxBytes int64) (csvPreview, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1 // outputs are not always rectangular; show them as they are
	var p csvPreview
	for {
		if len(p.Rows) == maxRows || cr.InputOffset() >= maxBytes {
			_, err := cr.Read()
			p.More = err != io.EOF
			return p, nil
		}
		record, err := cr.Read()
		if err == io.EOF {
			return p, nil
		}
		var parseErr *csv.ParseError
		if errors.As(err, &parseErr) {
			p.Problem = "The rest of the file could not be read as CSV: " + parseErr.Error() + ". Download it to see it all."
			return p, nil
		}
		if err != nil {
			return p, err
		}
		if p.Header == nil {
			p.Header = record
			continue
		}
		p.Rows = append(p.Rows, record)
	}
}
