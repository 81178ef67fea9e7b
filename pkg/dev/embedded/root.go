package embedded

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

const modulePath = "github.com/contactsync/contactsync"

// FindRoot walks up from dir to the repository root: the folder whose go.mod
// declares this module.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module "+modulePath+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no contactsync go.mod above " + dir)
		}
		dir = parent
	}
}
