package schemas

// PLACEHOLDER until h/schemagen lands: a stand-in, with the signatures of
// package codebind, for the engine being written there. Deleted on merge.

import (
	"archive/zip"
	"bytes"
	"strings"
)

var languages = []string{"Java8", "Python36", "TypeScript3", "Go1"}

func generateBinding(lang, schemaName string, content []byte, typ string) ([]byte, error) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	f, err := z.Create(strings.ReplaceAll(schemaName, "@", "_") + ".txt")
	if err != nil {
		return nil, err
	}
	_, _ = f.Write(content)
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
