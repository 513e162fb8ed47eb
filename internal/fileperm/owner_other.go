//go:build !unix

package fileperm

import "io/fs"

// Checked: mode bits do not describe Windows ACLs.
const Checked = false

// Owner is a no-op where file ownership is not a Unix uid (Windows
// protects files with ACLs, which mode bits do not describe).
func Owner(fs.FileInfo) error { return nil }
