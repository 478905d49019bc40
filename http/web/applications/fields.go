package applications

import (
	"maps"
	"net/http"
	"slices"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
)

// fieldView is one field of a form as the generic template ("application_field") draws it: the domain's
// field definition with the answer given and the message beside it. Kind is how it is drawn: an input type
// ("text", "email", "tel", "date", "textarea"), "checkbox", "radio" or "select".
type fieldView struct {
	Name, Label, Help, Kind string
	Required                bool
	Value                   string
	Options                 []kit.Option
	Error                   string
	Autocomplete            string
}

// inputKinds are how each kind of field is drawn.
var inputKinds = map[domain.FieldKind]string{
	domain.FieldText:     "text",
	domain.FieldTextArea: "textarea",
	domain.FieldEmail:    "email",
	domain.FieldPhone:    "tel",
	domain.FieldDate:     "date",
	domain.FieldGitHub:   "text",
	domain.FieldCheckbox: "checkbox",
	domain.FieldYesNo:    "radio",
	domain.FieldChoice:   "select",
}

// yesNo are the answers of a yes/no question.
var yesNo = []domain.Option{{Value: "yes", Label: "Yes"}, {Value: "no", Label: "No"}}

// fieldViews draws the fields with their answers and the messages beside them.
func fieldViews(fields []domain.Field, answers domain.Answers, errors map[string]string) []fieldView {
	views := make([]fieldView, len(fields))
	for i, f := range fields {
		v := fieldView{Name: f.Key, Label: f.Label, Help: f.Help, Kind: inputKinds[f.Kind], Required: f.Required,
			Value: answers[f.Key], Error: errors[f.Key], Autocomplete: "off"}
		options := f.Options
		if f.Kind == domain.FieldYesNo {
			options = yesNo
		}
		for _, o := range options {
			v.Options = append(v.Options, kit.Option{Value: o.Value, Label: o.Label, Selected: o.Value == v.Value})
		}
		views[i] = v
	}
	return views
}

// postedAnswers reads the answers to the fields from a posted form, exactly as posted: the domain tidies
// and checks them.
func postedAnswers(r *http.Request, fields []domain.Field) domain.Answers {
	answers := domain.Answers{}
	for _, f := range fields {
		if v := r.PostFormValue(f.Key); v != "" {
			answers[f.Key] = v
		}
	}
	return answers
}

// otherErrors are the messages about no field the form shows, so that none is lost.
func otherErrors(errors map[string]string, fields []domain.Field) []string {
	var other []string
	for _, key := range slices.Sorted(maps.Keys(errors)) {
		if !slices.ContainsFunc(fields, func(f domain.Field) bool { return f.Key == key }) {
			other = append(other, errors[key])
		}
	}
	return other
}
