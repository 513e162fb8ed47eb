// Package keyring is a tokens.Store over the operating system's keyring,
// through github.com/zalando/go-keyring: the Secret Service (GNOME Keyring,
// KWallet) over D-Bus on Linux and the BSDs, the Keychain on macOS, the
// Credential Manager on Windows.
//
// go-keyring takes no context and can block forever (a locked desktop
// keyring waits for a human to answer its unlock prompt). Every call of
// this Store therefore runs on its own goroutine under a deadline
// (WithTimeout, and the caller's context). A call that times out returns
// ErrTimeout but its goroutine stays blocked inside go-keyring until the
// keyring answers; a timed-out Set or Delete may still take effect later,
// but never after a later Set or Delete of the same Store (writes reach the
// keyring one at a time, in order).
// Only a few calls may be blocked at once: beyond that, calls fail at once
// with ErrUnavailable instead of piling up goroutines.
//
// Errors are *tokens.StoreError values that tell apart the cases a caller
// acts on: tokens.ErrNotFound (no such secret), tokens.ErrUnavailable (no
// keyring service: no D-Bus session bus, nothing owns
// org.freedesktop.secrets), tokens.ErrLocked (a keyring nobody unlocked,
// or a prompt the user dismissed: a Set or Delete whose confirmation was
// dismissed changed nothing and says so, where go-keyring reports success),
// tokens.ErrTimeout and tokens.ErrTooLarge. On Linux, when no session bus
// is configured, the Store fails with ErrUnavailable instead of letting
// godbus run dbus-launch, which would start a stray bus daemon per process.
//
// Values are checked against the platform's size limits before they are
// written: about 3 KB on macOS (the security command line is capped at
// 4096 bytes), 2560 bytes on Windows, and just under 32 MiB on the Secret
// Service, whose value travels in one D-Bus message (dbus-daemon's default
// max_message_size is 32 MiB, and a bus drops a connection that sends more,
// failing every call the process has in flight on it); DefaultMaxSize
// everywhere unless WithMaxSize says otherwise. A value over the platform's
// limit is tokens.ErrTooLarge, whatever WithMaxSize allows. go-keyring moves
// secrets as Go strings, which cannot be cleared from memory.
//
// A keyring keeps secrets from other users, not from other programs of the
// same user: on every platform they can read the items (on macOS through
// /usr/bin/security, which go-keyring makes the items' trusted
// application). Service and key names are not secret: they are item
// attributes and part of the item's label. See docs/secrets.md.
//
// Read secrets through a tokens.CachedStore: one Secret Service read costs
// several D-Bus round trips (2-3 ms).
package keyring
