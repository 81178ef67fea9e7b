// Package placeholder writes stand-in function archives so the stack can be
// synthesized in tests without `make build`.
package placeholder

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/contactsync/contactsync/pkg/resources"
)

// Zips writes <function>.zip (one tiny "bootstrap" file each) for every
// resources.Functions() entry into a fresh temporary directory and returns it.
func Zips(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range resources.Functions() {
		if err := write(filepath.Join(dir, f.Name+".zip"), f.Name); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func write(path, name string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(out)
	w, err := zw.Create("bootstrap")
	if err != nil {
		out.Close()
		return err
	}
	fmt.Fprintf(w, "placeholder %s\n", name)
	if err := zw.Close(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
