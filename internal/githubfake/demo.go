package githubfake

import (
	"embed"
	"io/fs"
)

// demo is a small but realistic study: a project.yaml whose five actions depend on each other
// (generate_dataset and generate_measures with ehrQL, two analyses needing the dataset, a report needing
// them all), the scripts they run and their codelists. Its project.yaml is a copy of the domain's
// domain/projectyaml/testdata/project.yaml, which a test keeps equal.
//
//go:embed demo
var demo embed.FS

// DemoFiles are the files of the demo study by path, project.yaml among them.
func DemoFiles() map[string]string {
	files := map[string]string{}
	err := fs.WalkDir(demo, "demo", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := demo.ReadFile(p)
		files[p[len("demo/"):]] = string(content)
		return err
	})
	if err != nil {
		panic("githubfake: the embedded demo study: " + err.Error())
	}
	return files
}

// AddDemoRepository adds the public repository owner/name holding the demo study in one commit on its
// default branch, main, and returns that commit's sha.
func (s *Server) AddDemoRepository(owner, name string) string {
	r := Repository{Owner: owner, Name: name, Description: "Antibiotic prescribing before and after the pandemic"}
	s.AddRepository(r)
	return s.Push(r.FullName(), "main", "Add the study's actions", DemoFiles())
}
