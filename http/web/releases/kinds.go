package releases

import (
	"mime"
	"net/http"
	"path"
	"strings"
)

// kind is how a released file is shown on the release page, and so how its bytes are served. Templates
// compare it with the words.
type kind string

const (
	// kindDownload is any file not known to be safe to show: a link to download it.
	kindDownload kind = "download"
	// kindCSV is shown as a table of its first rows.
	kindCSV kind = "csv"
	// kindImage is shown inline in an <img>, where even an SVG cannot run script.
	kindImage kind = "image"
	// kindDocument (text, HTML) is shown in a sandboxed frame: researchers write these files, so an HTML
	// output must never run script in our origin.
	kindDocument kind = "document"
)

// fileType is what the server knows of a released file from its name.
type fileType struct {
	kind        kind
	contentType string
}

// fileTypes by lower-case extension. Text types carry their charset: released outputs are UTF-8.
var fileTypes = map[string]fileType{
	".csv":  {kindCSV, "text/csv; charset=utf-8"},
	".png":  {kindImage, "image/png"},
	".jpg":  {kindImage, "image/jpeg"},
	".jpeg": {kindImage, "image/jpeg"},
	".gif":  {kindImage, "image/gif"},
	".webp": {kindImage, "image/webp"},
	".svg":  {kindImage, "image/svg+xml"},
	".html": {kindDocument, "text/html; charset=utf-8"},
	".htm":  {kindDocument, "text/html; charset=utf-8"},
	".txt":  {kindDocument, "text/plain; charset=utf-8"},
	".log":  {kindDocument, "text/plain; charset=utf-8"},
	".md":   {kindDocument, "text/plain; charset=utf-8"},
	".tsv":  {kindDocument, "text/plain; charset=utf-8"},
	".json": {kindDocument, "application/json; charset=utf-8"},
	".yaml": {kindDocument, "text/plain; charset=utf-8"},
	".yml":  {kindDocument, "text/plain; charset=utf-8"},
}

// typeOf is the type of the file with the name; a name with an unknown extension is a download.
func typeOf(name string) fileType {
	if t, ok := fileTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return fileType{kindDownload, "application/octet-stream"}
}

// fileSandbox is the Content-Security-Policy of a released file's bytes: a sandbox (a unique origin with no
// script, no forms, no plugins, no top navigation) that may load nothing but its own inline styles and
// images, and that only our own pages may frame (the release page's preview).
const fileSandbox = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"

// setFileHeaders sets the headers that make a released file's bytes safe to open from our origin, whatever
// is in them: its type from its name (never sniffed), the sandbox, and a download for any type not known.
// They replace the headers the server sets on pages, which forbid framing altogether.
func setFileHeaders(h http.Header, name string) {
	t := typeOf(name)
	h.Set("Content-Type", t.contentType)
	h.Set("Content-Security-Policy", fileSandbox)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	disposition := "inline"
	if t.kind == kindDownload {
		disposition = "attachment"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": path.Base(name)}))
}
