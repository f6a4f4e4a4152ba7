//go:build unix

package cache

import (
	"context"
	"io/fs"
	"os"
	"strconv"
	"syscall"
)

func openRead(path string) (*os.File, error) { return os.Open(path) }

func pathVersion(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return infoVersion(fi), nil
}

func fileVersion(f *os.File) (string, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	return infoVersion(fi), nil
}

func infoVersion(fi fs.FileInfo) string {
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = uint64(st.Ino)
	}
	b := make([]byte, 0, 64)
	b = strconv.AppendInt(b, fi.Size(), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, fi.ModTime().UnixNano(), 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, ino, 10)
	return string(b)
}

func replaceFile(_ context.Context, from, to string) error { return os.Rename(from, to) }

// syncDir makes a rename durable. Failure only weakens durability across a
// power cut, never consistency, so it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
