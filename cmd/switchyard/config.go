package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// configFlags fills every flag not yet set — on the command line or from
// SWITCHYARD_<FLAG> — from the YAML file path, whose keys are the flags'
// names without the dashes in front:
//
//	listen: 0.0.0.0:4010
//	data-dir: /var/lib/switchyard
//	auth: sigv4
//	credentials-file: /etc/switchyard/credentials.yaml
//	aws-endpoint: {sqs: "http://moto:5000", sns: "http://moto:5000"}
//	deny-target-cidrs: [169.254.0.0/16, "fd00:ec2::254/128"]
//
// A list is joined with commas and a mapping written key=value,... as the
// flags take them. A key that names no flag is an error, so that a typo
// does not go unnoticed.
func configFlags(fs *pflag.FlagSet, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var doc map[string]yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return fmt.Errorf("--config %s: %w", path, err)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := fs.Lookup(k)
		if f == nil || k == "config" {
			return fmt.Errorf("--config %s: %q is not a serve flag (see switchyard serve --help)", path, k)
		}
		if f.Changed {
			continue // the command line and the environment win
		}
		n := doc[k]
		v, err := flagValue(&n)
		if err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, k, err)
		}
		if err := fs.Set(k, v); err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, k, err)
		}
	}
	return nil
}

func flagValue(n *yaml.Node) (string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value, nil
	case yaml.SequenceNode:
		parts := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("line %d: a list of plain values is expected", c.Line)
			}
			parts = append(parts, c.Value)
		}
		return strings.Join(parts, ","), nil
	case yaml.MappingNode:
		parts := make([]string, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("line %d: a mapping of plain values is expected", k.Line)
			}
			parts = append(parts, k.Value+"="+v.Value)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("line %d: not a value a flag takes", n.Line)
}
