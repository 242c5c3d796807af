// Command genshapes writes shapes.json, the constraints of the Pipes API
// model (botocore's data/pipes/2015-10-07/service-2.json) that package
// pipes validates requests against: for every shape an operation's input
// reaches, its type, length or value bounds, pattern, enum and required
// members. Documentation and outputs are left out.
//
// Usage: go run ./genshapes MODEL.json[.gz] > shapes.json
package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

type member struct {
	Shape        string `json:"shape"`
	Location     string `json:"location,omitempty"`
	LocationName string `json:"locationName,omitempty"`
}

type shape struct {
	Type     string            `json:"type"`
	Min      *float64          `json:"min,omitempty"`
	Max      *float64          `json:"max,omitempty"`
	Pattern  string            `json:"pattern,omitempty"`
	Enum     []string          `json:"enum,omitempty"`
	Required []string          `json:"required,omitempty"`
	Members  map[string]member `json:"members,omitempty"`
	Member   *member           `json:"member,omitempty"`
	Key      *member           `json:"key,omitempty"`
	Value    *member           `json:"value,omitempty"`
}

type model struct {
	Operations map[string]struct {
		Input *member `json:"input"`
	} `json:"operations"`
	Shapes map[string]shape `json:"shapes"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genshapes MODEL.json[.gz]")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "genshapes:", err)
		os.Exit(1)
	}
}

func run(path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		r = zr
	}
	var m model
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return err
	}
	out := map[string]shape{}
	var visit func(name string)
	visit = func(name string) {
		if _, done := out[name]; done {
			return
		}
		s, ok := m.Shapes[name]
		if !ok {
			return
		}
		out[name] = s
		for _, mem := range s.Members {
			visit(mem.Shape)
		}
		for _, mem := range []*member{s.Member, s.Key, s.Value} {
			if mem != nil {
				visit(mem.Shape)
			}
		}
	}
	ops := map[string]string{}
	for name, op := range m.Operations {
		if op.Input != nil {
			ops[name] = op.Input.Shape
			visit(op.Input.Shape)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(struct {
		Operations map[string]string `json:"operations"`
		Shapes     map[string]shape  `json:"shapes"`
	}{ops, out})
}
