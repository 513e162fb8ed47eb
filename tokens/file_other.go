//go:build !unix

package tokens

import "os"

// openSecret opens a secret file for reading (no FIFOs in a Windows
// directory to block on).
func openSecret(name string) (*os.File, error) { return os.Open(name) }

// syncDir does nothing where a directory cannot be synced (Windows makes a
// rename durable with the file system's own journal).
var syncDir = func(string) error { return nil }

// dirSyncUnsupported: syncDir never fails here.
func dirSyncUnsupported(error) bool { return false }

// isReadOnlyFS: not detected here.
func isReadOnlyFS(error) bool { return false }
