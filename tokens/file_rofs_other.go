//go:build !linux

package tokens

// onReadOnlyMount: mount flags are only consulted on Linux; elsewhere a
// directory writable by group or others is refused whatever its mount.
func onReadOnlyMount(string) bool { return false }
