// Command secrets provisions the secrets a securecall client uses: it sets,
// gets (masked unless -reveal), deletes and lists them in the OS keyring
// (package tokens/keyring), or, with -dir, in a directory of 0600 files for
// machines without a keyring.
//
//	secrets [-service NAME | -dir DIR] set KEY       # value from stdin or a prompt
//	secrets [-service NAME | -dir DIR] get [-reveal] KEY
//	secrets [-service NAME | -dir DIR] delete KEY
//	secrets [-service NAME | -dir DIR] list
//
// A value is never taken from the command line, where it would show in
// `ps` and in the shell's history: set reads it from stdin when stdin is a
// pipe or a file (one trailing newline is dropped), or prompts for it with
// the terminal's echo turned off (a line of up to 1 MiB, as from stdin: the
// terminal's own line editing, which cuts a line at 4095 bytes, is off, and
// the prompt handles the erase, kill, end-of-file, word-erase and
// literal-next keys itself; a longer line is refused and read to its end,
// and several lines pasted at once are refused, the rest of the paste read
// and dropped, so none of it reaches the shell); Ctrl-C (or SIGTERM,
// SIGHUP, SIGQUIT) at
// the prompt turns echo back on before the command ends; Ctrl-Z turns it
// back on before the command stops, and fg turns it off again.
//
// get prints the length and a short SHA-256 fingerprint, so two machines'
// secrets can be compared without showing them; -reveal prints the value.
// list shows the keys securecall's examples and docs use (client-secret,
// oauth-client-key, refresh-token, api-key, access-token, signing-key) and
// whether each is set: go-keyring cannot enumerate a service's items.
//
// -dir and the keyring's flags (-service, -timeout) choose one store or
// the other: given together, they are a command line it cannot run.
//
// It exits with 0 on success, 1 when the store fails (a missing key, a
// locked keyring, an empty or too long value), and 2 for -h, no command,
// or a command line it cannot run (an unknown command or flag, a missing
// or extra argument, -dir with -service or -timeout).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/tokens/keyring"
)

// DefaultService is the keyring service name when -service is not given.
const DefaultService = "securecall"

// knownKeys are the secret names list reports on.
var knownKeys = []string{"client-secret", "oauth-client-key", "refresh-token", "api-key", "access-token", "signing-key"}

// maxValue caps what set reads from stdin.
const maxValue = 1 << 20

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// runMain runs one command and returns the process's exit code: 0; 2 for
// a usage request (-h, no command) or a command line it cannot run (an
// unknown command or flag, a missing or extra argument); 1 for any other
// failure (a missing key, an unavailable store). Errors are printed to
// stderr.
func runMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// No overall deadline: it would count the time a person takes to
	// answer the prompt against the store call that follows. Each keyring
	// call has its own deadline (-timeout).
	err := run(context.Background(), args, stdin, stdout, stderr, nil)
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "secrets:", err)
		if _, ok := errors.AsType[*usageError](err); ok {
			return 2
		}
		return 1
	}
	return 0
}

// usageError is a command line run cannot run: runMain exits with 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usage wraps a flag parse error, or makes one from a message.
func usage(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &usageError{err}
}

// run executes one command. store, when non-nil, replaces the store the
// flags would choose (tests).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, store tokens.Store) error {
	fs := flag.NewFlagSet("secrets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	service := fs.String("service", DefaultService, "keyring service name")
	dir := fs.String("dir", "", "use a directory of 0600 files instead of the OS keyring")
	timeout := fs.Duration("timeout", keyring.DefaultTimeout, "deadline of each keyring call")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: secrets [-service NAME | -dir DIR] set KEY | get [-reveal] KEY | delete KEY | list")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usage(err)
	}
	if *dir != "" {
		// -dir is the other store: a keyring flag beside it would be
		// ignored, and the secret land where the user did not say.
		var keyringFlags []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "service" || f.Name == "timeout" {
				keyringFlags = append(keyringFlags, "-"+f.Name)
			}
		})
		if len(keyringFlags) > 0 {
			return usage(fmt.Errorf("-dir chooses a directory of files instead of the OS keyring; %s is for the keyring: give one store", strings.Join(keyringFlags, " and ")))
		}
	}
	if store == nil {
		var err error
		if store, err = openStore(*service, *dir, *timeout); err != nil {
			return err
		}
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	switch cmd, rest := rest[0], rest[1:]; cmd {
	case "set":
		if len(rest) != 1 {
			return usage(errors.New("set takes exactly one KEY; the value is read from stdin or a prompt, never from the command line (it would show in ps and in shell history)"))
		}
		return set(ctx, store, rest[0], stdin, stderr)
	case "get":
		gs := flag.NewFlagSet("get", flag.ContinueOnError)
		gs.SetOutput(stderr)
		reveal := gs.Bool("reveal", false, "print the value instead of its fingerprint")
		if err := gs.Parse(rest); err != nil {
			return usage(err)
		}
		if gs.NArg() != 1 {
			return usage(errors.New("get takes exactly one KEY"))
		}
		v, err := store.Get(ctx, gs.Arg(0))
		if err != nil {
			return err
		}
		defer clear(v)
		if *reveal {
			_, err = fmt.Fprintf(stdout, "%s\n", v)
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s: %s\n", gs.Arg(0), mask(v))
		return err
	case "delete":
		if len(rest) != 1 {
			return usage(errors.New("delete takes exactly one KEY"))
		}
		if err := store.Delete(ctx, rest[0]); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "%s: deleted\n", rest[0])
		return err
	case "list":
		if len(rest) != 0 {
			return usage(errors.New("list takes no arguments"))
		}
		return list(ctx, store, stdout)
	default:
		fs.Usage()
		return usage(fmt.Errorf("unknown command %q", cmd))
	}
}

func openStore(service, dir string, timeout time.Duration) (tokens.Store, error) {
	if dir != "" {
		return tokens.NewFileStore(dir)
	}
	return keyring.New(service, keyring.WithTimeout(timeout))
}

func set(ctx context.Context, store tokens.Store, key string, stdin io.Reader, stderr io.Writer) error {
	if err := tokens.ValidateKey(key); err != nil {
		return err
	}
	var v []byte
	var err error
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(stderr, "value for %s (not echoed): ", key)
		v, err = readNoEcho(f)
		fmt.Fprintln(stderr)
	} else {
		// Room for the value, its newline ("\r\n") and one byte more,
		// so that a longer value is seen as such after the trim.
		v, err = io.ReadAll(io.LimitReader(stdin, maxValue+3))
		if bytes.HasSuffix(v, []byte("\n")) { // one newline: "\n" or "\r\n"
			v = bytes.TrimSuffix(v[:len(v)-1], []byte("\r"))
		}
	}
	defer clear(v)
	switch {
	case err != nil:
		return fmt.Errorf("read value: %w", err)
	case len(v) > maxValue:
		return fmt.Errorf("value longer than %d bytes", maxValue)
	case len(v) == 0:
		return errors.New("empty value; nothing stored")
	}
	if err := store.Set(ctx, key, v); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: stored (%s)\n", key, mask(v))
	return nil
}

func list(ctx context.Context, store tokens.Store, stdout io.Writer) error {
	w := bufio.NewWriter(stdout)
	for _, k := range knownKeys {
		v, err := store.Get(ctx, k)
		switch {
		case err == nil:
			fmt.Fprintf(w, "%-18s %s\n", k, mask(v))
			clear(v)
		case errors.Is(err, tokens.ErrNotFound):
			fmt.Fprintf(w, "%-18s not set\n", k)
		default:
			w.Flush()
			return err
		}
	}
	return w.Flush()
}

// mask describes a secret without showing it: its length and the first 8
// hex digits of its SHA-256.
func mask(v []byte) string {
	sum := sha256.Sum256(v)
	return fmt.Sprintf("%d bytes, sha256:%s…", len(v), hex.EncodeToString(sum[:4]))
}

// lineKeys are a terminal's line-editing keys (-1: none), which
// readNoEcho interprets itself since echoOff turns the terminal's own line
// editing off: erase, kill and end-of-file, and, when the terminal had its
// extensions on (IEXTEN), word erase and literal next.
type lineKeys struct{ erase, kill, eof, werase, lnext int }

// readNoEcho reads one line from the terminal f with echo off, of any
// length up to maxValue (+1, to tell a longer one, whose rest it reads and
// drops), with the terminal's erase, kill and end-of-file keys. A signal that would end the process
// while it waits (Ctrl-C, Ctrl-\, SIGTERM, SIGHUP) turns echo back on
// before the process ends, the way the signal would have ended it: left to
// its default action, it would leave the terminal without echo, and the
// user's shell with it.
func readNoEcho(f *os.File) ([]byte, error) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, promptSignals...)
	restore, keys, err := echoOff(f)
	if err != nil {
		signal.Stop(sig)
		return nil, err
	}
	stop := restoreOnSignal(sig, restore, exitOnSignal)
	defer func() {
		signal.Stop(sig)
		stop()
	}()
	line := make([]byte, 0, 256)
	buf := make([]byte, 1)
	defer clear(buf)
	literal := false // the previous key was literal next
	for len(line) <= maxValue {
		n, err := f.Read(buf)
		if n == 1 {
			switch c := buf[0]; {
			case literal:
				literal = false
				line = appendByte(line, c)
			case int(c) == keys.lnext:
				literal = true
			case c == '\n' || c == '\r':
				if dropPending(f) {
					clear(line)
					return nil, errMultiLine
				}
				return line, nil
			case int(c) == keys.eof:
				// As in the terminal's own line editing: on an empty
				// line it ends the input, elsewhere it does nothing here.
				if len(line) == 0 {
					return line, nil
				}
			case int(c) == keys.erase:
				_, size := utf8.DecodeLastRune(line)
				clear(line[len(line)-size:])
				line = line[:len(line)-size]
			case int(c) == keys.werase:
				// POSIX: the blanks before the word, then the word.
				i := len(line)
				for i > 0 && (line[i-1] == ' ' || line[i-1] == '\t') {
					i--
				}
				for i > 0 && line[i-1] != ' ' && line[i-1] != '\t' {
					i--
				}
				clear(line[i:])
				line = line[:i]
			case int(c) == keys.kill:
				clear(line)
				line = line[:0]
			default:
				line = appendByte(line, c)
			}
		}
		if err == io.EOF {
			return line, nil
		}
		if err != nil {
			clear(line)
			return nil, err
		}
	}
	// Over the limit: set refuses the line. Read the rest of it too, so
	// that it is not left in the terminal's input for the next program to
	// read it (the user's shell would show it, keep it in its history and
	// run it at the line's end).
	for {
		n, err := f.Read(buf)
		if err != nil || n == 1 && (buf[0] == '\n' || buf[0] == '\r') {
			return line, nil
		}
	}
}

// errMultiLine: the line typed at the prompt came with more input after
// it, a paste of several lines.
var errMultiLine = errors.New("more than one line at the prompt (pasted?); nothing stored: pipe a value of several lines into stdin (set KEY < FILE)")

// dropPending reads and drops the input already waiting in the terminal f
// after the prompt's line, and reports whether it held anything but line
// ends: several lines pasted at once (a PEM key, a token and the next
// line of a file). The first line alone is not the value meant, and the
// rest, left in the terminal's input, would go to the user's shell, which
// shows it, keeps it in its history and runs each line as a command.
func dropPending(f *os.File) (more bool) {
	buf := make([]byte, 4096)
	defer clear(buf)
	for {
		n := pendingInput(f)
		if n <= 0 {
			return more
		}
		n, err := f.Read(buf[:min(n, len(buf))])
		for _, c := range buf[:n] {
			more = more || c != '\n' && c != '\r'
		}
		if err != nil {
			return more
		}
	}
}

// appendByte appends c to line; when line has to grow, it clears the old
// buffer.
func appendByte(line []byte, c byte) []byte {
	if len(line) == cap(line) {
		bigger := make([]byte, len(line), 2*cap(line)+1)
		copy(bigger, line)
		clear(line)
		line = bigger
	}
	return append(line, c)
}

// restoreOnSignal watches sig while a prompt has the terminal's echo off:
// a signal calls restore, then exit with the signal. stop, called when
// the prompt is done (after signal.Stop), ends the watch, calls restore
// (once in all) and hands a signal that arrived meanwhile to exit.
func restoreOnSignal(sig <-chan os.Signal, restore func(), exit func(os.Signal)) (stop func()) {
	var once sync.Once
	restoreOnce := func() { once.Do(restore) }
	done, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case s := <-sig:
			restoreOnce()
			exit(s)
		case <-done:
		}
	}()
	return func() {
		close(done)
		<-watched
		restoreOnce()
		select {
		case s := <-sig:
			exit(s)
		default:
		}
	}
}

// exitOnSignal ends the process as s would have, its terminal restored:
// it ends the prompt's line, restores the default action of s and sends s
// to itself, or, should the process survive that, exits with 128 plus the
// signal's number, the shells' convention.
func exitOnSignal(s os.Signal) {
	fmt.Fprintln(os.Stderr)
	signal.Reset(s)
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Signal(s)
	}
	os.Exit(signalExitCode(s))
}
