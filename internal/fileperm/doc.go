// Package fileperm holds the permission checks securecall makes on files
// that hold secrets or decide an identity, so that tokens.FileStore and
// transport's file-based client certificate apply the same rules: a file
// must not be readable or writable by more users than it should be (a
// mask of mode bits), must belong to the process's effective user or
// root, and every directory that decides what the path reaches (the one
// holding the file, and each one holding a symlink followed on the way)
// must not be writable by group or others, unless, on Linux, it is on a
// read-only mount (a Kubernetes secret volume's 1777 directory), where no
// one can add or replace an entry.
//
// Mode and owner bits are checked on Unix only (Checked): on Windows they
// do not describe the ACLs, and every check passes.
package fileperm
