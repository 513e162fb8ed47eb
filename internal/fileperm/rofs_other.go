//go:build !linux

package fileperm

// OnReadOnlyMount: mount flags are only consulted on Linux; elsewhere a
// directory writable by group or others is refused whatever its mount.
func OnReadOnlyMount(string) bool { return false }
