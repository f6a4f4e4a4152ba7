package cache

import (
	"bytes"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// File is a Persistence in one file, shared safely by any number of
// processes.
//
// Writers take an OS advisory lock (flock(2) on unix, LockFileEx on
// Windows) on the sibling file <path>.lock for their read-merge-write
// cycle. The kernel drops such a lock when its holder exits, however it
// exits, so a crashed or killed process never leaves a stale lock behind
// and there is no timeout or lock-breaking logic to get wrong. The lock file
// itself is never deleted: deleting it would let two processes lock two
// different files of the same name. (Advisory locks on network file
// systems may not be seen by other machines; keep the cache local.)
//
// Readers take no lock: writes go to a temporary file that is synced and
// renamed over the target, so a reader sees the old or the new contents,
// never a mix.
//
// With WithEncryptionKey the contents are sealed with AES-256-GCM. An
// unencrypted file (plain MSAL JSON) is still read, so an existing MSAL
// cache migrates: the next write encrypts it.
type File struct {
	path string
	aead cipher.AEAD // nil: plain JSON
	kid  [kidLen]byte
	err  error // a configuration error, reported by every method
}

// FileOption configures a File.
type FileOption func(*fileOptions)

type fileOptions struct {
	key    []byte
	keySet bool
}

// WithEncryptionKey encrypts the file with AES-256-GCM under key, which
// must be 32 bytes (see EncryptionKeyFromFile and EncryptionKeyFromEnv).
func WithEncryptionKey(key []byte) FileOption {
	k := append([]byte(nil), key...)
	return func(o *fileOptions) { o.key, o.keySet = k, true }
}

// NewFile returns the Persistence for the file at path. Nothing is touched
// until it is used; the directory is created (0700) on the first write or
// lock.
func NewFile(path string, opts ...FileOption) *File {
	var o fileOptions
	for _, opt := range opts {
		opt(&o)
	}
	f := &File{path: path}
	if o.keySet {
		f.aead, f.kid, f.err = newAEAD(o.key)
	}
	return f
}

// String returns the path, so that errors and warnings can name the file.
func (f *File) String() string { return f.path }

var _ Persistence = (*File)(nil)

// Lock takes the cross-process lock, polling until ctx is done.
func (f *File) Lock(ctx context.Context) (func() error, error) {
	if f.err != nil {
		return nil, f.err
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return nil, fmt.Errorf("cache: creating the directory of %s: %w", f.path, err)
	}
	lockPath := f.path + ".lock"
	lf, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cache: opening lock file: %w", err)
	}
	delay := time.Millisecond
	for {
		ok, err := tryLock(lf)
		if err != nil {
			lf.Close()
			return nil, fmt.Errorf("cache: locking %s: %w", lockPath, err)
		}
		if ok {
			break
		}
		// Poll rather than block: a blocking flock cannot be abandoned when
		// ctx is cancelled.
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			lf.Close()
			return nil, fmt.Errorf("cache: waiting for the lock on %s: %w", lockPath, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, 20*time.Millisecond)
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			if err := unlockFile(lf); err != nil {
				uerr = fmt.Errorf("cache: unlocking %s: %w", lockPath, err)
			}
			if err := lf.Close(); err != nil && uerr == nil {
				uerr = fmt.Errorf("cache: closing %s: %w", lockPath, err)
			}
		})
		return uerr
	}, nil
}

// Version identifies the file's current contents by size, modification
// time and file identity (a write renames a new file into place, so the
// identity changes even if size and time do not). "" means no file.
func (f *File) Version(ctx context.Context) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	v, err := pathVersion(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cache: stat %s: %w", f.path, err)
	}
	return v, nil
}

// Read returns the decrypted contents and their version; nil and "" when
// there is no file.
func (f *File) Read(ctx context.Context) ([]byte, string, error) {
	if f.err != nil {
		return nil, "", f.err
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	data, v, err := f.readRaw()
	if err != nil || data == nil {
		return nil, v, err
	}
	plain, err := f.open(data)
	if err != nil {
		return nil, "", err
	}
	return plain, v, nil
}

func (f *File) readRaw() ([]byte, string, error) {
	// The version must describe the bytes returned. Our own writers
	// replace the file atomically, but another program may rewrite it in
	// place, so retry until the identity is the same before and after.
	for attempt := 0; ; attempt++ {
		fh, err := openRead(f.path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("cache: opening %s: %w", f.path, err)
		}
		before, err := fileVersion(fh)
		if err != nil {
			fh.Close()
			return nil, "", fmt.Errorf("cache: stat %s: %w", f.path, err)
		}
		data, err := readAll(fh)
		if err != nil {
			fh.Close()
			return nil, "", fmt.Errorf("cache: reading %s: %w", f.path, err)
		}
		after, err := fileVersion(fh)
		fh.Close()
		if err != nil {
			return nil, "", fmt.Errorf("cache: stat %s: %w", f.path, err)
		}
		if before == after || attempt == 4 {
			if data == nil {
				data = []byte{}
			}
			return data, after, nil
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
}

// readAll reads f to the end into a buffer sized from its length.
func readAll(f *os.File) ([]byte, error) {
	size := 0
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 && fi.Size() < 1<<30 {
		size = int(fi.Size())
	}
	var b bytes.Buffer
	b.Grow(size + bytes.MinRead)
	_, err := b.ReadFrom(f)
	return b.Bytes(), err
}

// Write atomically replaces the file with data (encrypted if a key is
// set), with 0600 permissions, and returns its version.
func (f *File) Write(ctx context.Context, data []byte) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	out, err := f.seal(data)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cache: creating the directory of %s: %w", f.path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("cache: creating a temporary file next to %s: %w", f.path, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return "", fmt.Errorf("cache: chmod %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(out); err != nil {
		return "", fmt.Errorf("cache: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("cache: syncing %s: %w", tmp.Name(), err)
	}
	// Renaming keeps the file's identity and modification time, so its
	// version can be taken now, before another process can replace it.
	v, err := fileVersion(tmp)
	if err != nil {
		return "", fmt.Errorf("cache: stat %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("cache: closing %s: %w", tmp.Name(), err)
	}
	if err := replaceFile(ctx, tmp.Name(), f.path); err != nil {
		return "", fmt.Errorf("cache: replacing %s: %w", f.path, err)
	}
	ok = true
	syncDir(dir)
	return v, nil
}

// MoveAside renames the file to <path>.corrupt-<unixnano>, keeping
// unreadable contents for inspection rather than overwriting them. The
// Cache calls it, holding the lock, when the file is corrupt.
func (f *File) MoveAside(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dst := f.path + ".corrupt-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	if err := replaceFile(ctx, f.path, dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("cache: moving %s aside: %w", f.path, err)
	}
	return dst, nil
}
