package tokens

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// opens watches name with inotify and returns a func that reports how many
// times it has been opened since: the kernel queues IN_OPEN during
// open(2) itself, so the count is exact once the opener has returned.
func opens(t *testing.T, name string) func() int {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if _, err := syscall.InotifyAddWatch(fd, name, syscall.IN_OPEN); err != nil {
		t.Skipf("inotify watch %s: %v", name, err)
	}
	return func() int {
		n := 0
		buf := make([]byte, 4096)
		for {
			r, err := syscall.Read(fd, buf)
			if r <= 0 || err != nil {
				return n
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= r; {
				n++
				// struct inotify_event: wd, mask, cookie, len, name[len].
				off += syscall.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(buf[off+12:]))
			}
		}
	}
}

// A FIFO or device at a key path (directly or behind a symlink) must be
// refused before it is opened, not opened and then refused: opening
// /dev/watchdog arms a hardware watchdog, opening some tape or serial
// devices resets them, opening a FIFO wakes a writer blocked on it.
func TestFileStoreGetRefusesSpecialFileUnopened(t *testing.T) {
	s, dir := newFileStore(t)
	ctx := context.Background()
	if err := s.Set(ctx, "seed", []byte("v")); err != nil { // creates dir
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	if err := os.Symlink(fifo, filepath.Join(dir, "fifolink")); err != nil {
		t.Fatal(err)
	}
	nodes := map[string]string{"fifo": fifo, "fifolink": fifo}
	// A device node of our own (root, or CAP_MKNOD) lets inotify count
	// Get's opens of it. /dev/null, which every process may open, is
	// checked below for the error alone.
	dev := filepath.Join(dir, "dev")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o600, 1<<8|3); err == nil { // 1:3, /dev/null's numbers
		if err := os.Symlink(dev, filepath.Join(dir, "devlink")); err != nil {
			t.Fatal(err)
		}
		nodes["dev"], nodes["devlink"] = dev, dev
	} else {
		t.Logf("mknod: %v; checking the device case through /dev/null only", err)
	}
	for key, node := range nodes {
		opened := opens(t, node)
		_, err := s.Get(ctx, key)
		if !errors.Is(err, ErrInsecureFile) {
			t.Errorf("Get(%q) = %v; want ErrInsecureFile", key, err)
		}
		if n := opened(); n != 0 {
			t.Errorf("Get(%q) opened %s %d times; want it refused unopened", key, node, n)
		}
	}
	if err := os.Symlink("/dev/null", filepath.Join(dir, "null")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "null"); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("Get(null -> /dev/null) = %v; want ErrInsecureFile", err)
	}
}
