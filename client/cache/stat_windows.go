//go:build windows

package cache

import (
	"context"
	"errors"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/windows"
)

// openRead opens with FILE_SHARE_DELETE so that a reader never stops a
// writer from renaming a new version into place.
func openRead(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

func pathVersion(path string) (string, error) {
	f, err := openRead(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return fileVersion(f)
}

// fileVersion uses the volume serial number and file index, Windows'
// equivalent of an inode number.
func fileVersion(f *os.File) (string, error) {
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(f.Fd()), &fi); err != nil {
		return "", &os.PathError{Op: "GetFileInformationByHandle", Path: f.Name(), Err: err}
	}
	size := int64(fi.FileSizeHigh)<<32 | int64(fi.FileSizeLow)
	mtime := fi.LastWriteTime.Nanoseconds()
	b := make([]byte, 0, 80)
	b = strconv.AppendInt(b, size, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, mtime, 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(fi.VolumeSerialNumber), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(fi.FileIndexHigh)<<32|uint64(fi.FileIndexLow), 10)
	return string(b), nil
}

// replaceFile renames over the target, retrying briefly: a program that
// opened the target without FILE_SHARE_DELETE (an editor, a virus scanner,
// another MSAL) makes the rename fail until it lets go.
func replaceFile(ctx context.Context, from, to string) error {
	delay := 5 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := os.Rename(from, to)
		if err == nil || attempt == 10 ||
			!(errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// Windows has no directory fsync; MoveFileEx is durable enough.
func syncDir(string) {}
