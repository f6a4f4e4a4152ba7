//go:build !unix && !windows

package cache

import (
	"context"
	"os"
	"strconv"
)

func openRead(path string) (*os.File, error) { return os.Open(path) }

func pathVersion(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(fi.Size(), 10) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 10), nil
}

func fileVersion(f *os.File) (string, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(fi.Size(), 10) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 10), nil
}

func replaceFile(_ context.Context, from, to string) error { return os.Rename(from, to) }

func syncDir(string) {}
