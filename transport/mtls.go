package transport

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securecall/securecall/internal/fileperm"
	"github.com/securecall/securecall/internal/hookpanic"
)

// chainSettleInterval is how long files whose chain is shorter than the
// one in use must stay the same before an automatic check installs them
// (see ClientCertificate): longer than a writer takes between its writes
// of one file, short enough that a chain shortened on purpose is not held
// back long.
const chainSettleInterval = time.Second

// DefaultCertificateReloadInterval is how often, at most, a file-based
// ClientCertificate reads its files again to notice a rotation, when
// WithCertificateReloadInterval is not given. The check runs in the caller's
// goroutine during a request or handshake (no background goroutine), so a
// rotation is picked up by the first request at least this long after the
// previous check.
const DefaultCertificateReloadInterval = 30 * time.Second

// maxCertificateFileSize caps what is read from a certificate or key file.
const maxCertificateFileSize = 1 << 20

// ClientCertificate is a TLS client certificate for mutual TLS that can be
// replaced while in use. It is served through tls.Config's
// GetClientCertificate from an atomic pointer, so a handshake never waits
// for a reload.
//
// A file-based certificate (NewClientCertificateFromFiles) notices when its
// files change: at most once per reload interval, the next request or
// handshake reads both files and, if their content changed, parses them
// and swaps the certificate in. There is no watcher goroutine to leak and
// nothing to stop; it works the same for in-place writes, renames and the
// symlink swaps of Kubernetes secret volumes. The interval runs on the
// monotonic clock: a step of the wall clock does not pause reloading.
// Reload checks immediately.
//
// A renewal whose NotBefore is still ahead (written to disk before its
// validity starts, or issued by a CA whose clock is ahead of ours) is held
// back while the certificate in use is valid: a server would refuse it
// until then. It is reported once (the reload hook gets an error wrapping
// ErrCertificateNotYetValid, Base's reload metric counts it as "pending")
// and installed by the first check at or after its NotBefore, at most one
// reload interval late. When the certificate in use is not valid itself
// (it has expired, or it is not yet valid either), the renewal is
// installed at once: every server refuses an expired certificate, while
// one whose clock is ahead of ours may accept the renewal. New content on
// disk replaces a pending renewal. Update refuses such a certificate on
// the same terms, and a certificate it installs supersedes a pending
// renewal: that is never installed, until the files change again (see
// Update).
//
// A reload that fails (unreadable file, bad PEM, an expired certificate,
// one whose extended key usage leaves out clientAuth, a chain file cut inside a PEM block because it was read while being
// written, or a certificate and key that do not match because a rotation
// wrote one file but not yet the other) keeps the certificate in use, reports the error to the reload
// hook (and to Base's reload metric), and is retried at the next interval;
// a ClientCertificate never serves nothing. A chain file cut between two
// PEM blocks (the leaf written, its intermediates not yet) cannot be told
// from a chain that is only a leaf: so files whose chain is shorter than
// the one in use are installed by an automatic check only once they have
// stayed the same for a second (a check is made then, whatever the reload
// interval); until then nothing is reported and the certificate in use
// stays. Reload installs such a chain at once: it is called once the files
// are written. Likewise a certificate and key that do not match (or a key
// cut while being written), as a rotation that writes one file and then
// the other gives between its writes, are reported by an automatic check
// only once the files have stayed the same for a second, and once for
// those files (Reload returns the error at once, every time); the writer's
// second write, read meanwhile, is installed unreported as a failure.
// Before it fails, a reload reads
// the files once more: a rotation that replaces both at once (the symlink
// swap of a Kubernetes secret volume) between its reads of the two files
// is installed, not reported as a mismatched pair.
//
// Connections already open keep the certificate they were made with, so
// in-flight calls are never disturbed; a Base that sees a new certificate
// sends the next calls over new connections that present it.
//
// A ClientCertificate is safe for concurrent use and may be shared by
// several Base transports.
type ClientCertificate struct {
	cur atomic.Pointer[tls.Certificate]
	gen atomic.Uint64 // incremented on every swap
	id  atomic.Uint64 // process-unique, assigned on first use; see ident

	certFile, keyFile string
	keyMask           fs.FileMode // mode bits the key file may not have
	interval          int64       // nanoseconds
	onReload          func(error)
	nextCheck         atomic.Int64 // ticks (see clock) of the next file check
	clk               clock        // set with certFile
	closed            atomic.Bool

	mu         sync.Mutex        // serialises reloads and Update
	lastSum    [sha256.Size]byte // hash of the last files installed; guarded by mu
	pending    *tls.Certificate  // a renewal held back until its NotBefore; guarded by mu
	pendingSum [sha256.Size]byte // hash of pending's files; guarded by mu
	short      bool              // shortSum and shortAt are set; guarded by mu
	shortSum   [sha256.Size]byte // hash of files read with a chain shorter than cur's, not installed yet; guarded by mu
	shortAt    int64             // ticks of the first read of shortSum's files; guarded by mu

	mismatch         bool              // mismatchSum and mismatchAt are set; guarded by mu
	mismatchSum      [sha256.Size]byte // hash of files read with a key that is not the certificate's; guarded by mu
	mismatchAt       int64             // ticks of the first read of mismatchSum's files; guarded by mu
	mismatchReported bool              // mismatchSum's files were reported by an automatic check; guarded by mu
}

// ClientCertificateOption configures a ClientCertificate.
type ClientCertificateOption interface {
	apply(*clientCertificateConfig)
}

type clientCertificateConfig struct {
	interval  time.Duration
	onReload  func(error)
	groupRead bool
	err       error
}

type clientCertificateOptionFunc func(*clientCertificateConfig)

func (f clientCertificateOptionFunc) apply(c *clientCertificateConfig) { f(c) }

// WithCertificateReloadInterval sets how often, at most, a file-based
// ClientCertificate checks its files. It must be positive. Default:
// DefaultCertificateReloadInterval. It has no effect on certificates built
// from PEM bytes.
func WithCertificateReloadInterval(d time.Duration) ClientCertificateOption {
	return clientCertificateOptionFunc(func(c *clientCertificateConfig) {
		if d <= 0 {
			c.err = configErrorf("WithCertificateReloadInterval", nil, "must be positive, got %v", d)
			return
		}
		c.interval = d
	})
}

// WithCertificateReloadHook sets a function called after every reload that
// found something new: err is nil when a new certificate was installed,
// otherwise it says why the files were rejected (the previous certificate
// stays in use), or, wrapping ErrCertificateNotYetValid, that they hold a
// renewal held back until its NotBefore (called once for it, then with nil
// when it is installed), or that Update refused a certificate not valid
// yet. A certificate and key that do not match, read by an automatic
// check, are reported only once the files have stayed the same for a
// second, and once for those files, and a chain shorter than the one in
// use is installed only then (a rotation may be writing them: see
// ClientCertificate); Reload returns the mismatch, or installs the
// chain, at once.
// It is called for automatic reloads, Reload and Update, in
// the goroutine that triggered them, without locks held. A reload in a
// TLS handshake runs on the goroutine net/http dials on, where no
// caller's recover reaches: a panic in the hook there is recovered and
// dropped (the reload stands). Default: none.
func WithCertificateReloadHook(f func(err error)) ClientCertificateOption {
	return clientCertificateOptionFunc(func(c *clientCertificateConfig) { c.onReload = f })
}

// WithCertificateKeyGroupReadable accepts a key file that the owner's
// group may read (mode 0640 or 0440), as Kubernetes makes a secret
// volume's files with fsGroup and defaultMode 0440, like
// tokens.WithGroupReadable for a FileStore. A key file the group may
// write, or others read, is still refused. Default: only the owner may
// read or write the key file (0600 or 0400). It has no effect on
// certificates built from PEM bytes.
func WithCertificateKeyGroupReadable() ClientCertificateOption {
	return clientCertificateOptionFunc(func(c *clientCertificateConfig) { c.groupRead = true })
}

func applyClientCertificateOptions(opts []ClientCertificateOption) (clientCertificateConfig, error) {
	cfg := clientCertificateConfig{interval: DefaultCertificateReloadInterval}
	for _, o := range opts {
		if o == nil {
			continue
		}
		o.apply(&cfg)
		if cfg.err != nil {
			return cfg, cfg.err
		}
	}
	return cfg, nil
}

// NewClientCertificateFromFiles loads a PEM certificate chain (leaf first)
// and its PEM private key from regular files (symlinks to them included;
// not pipes or devices), and reloads them when they change.
// A pair that does not match, whose leaf has expired or has an extended
// key usage without clientAuth (a server certificate), or a file that
// cannot be read, is refused with a *ConfigError naming "certFile" or
// "keyFile" (the key's for a key that is not the certificate's; the
// certificate's for a chain whose leaf, the key's certificate, is not
// first, as "cat ca.crt client.crt" writes it), wrapping
// the cause; no key material is ever in it.
//
// The files' permissions are checked as tokens.FileStore checks a
// secret's, at every read (construction and reloads): the key file may
// not be readable or writable by group or others (mode & 0o077; group
// read is allowed with WithCertificateKeyGroupReadable), the certificate
// file, which is public, not writable by them (mode & 0o022); on Unix,
// neither may belong to a user other than the process's effective user or
// root; and the directory holding each file, and every directory holding
// a symlink followed on its path, may not be writable by group or others
// (on Linux, unless it is on a read-only mount: a Kubernetes secret
// volume's directory is mode 1777, mounted read-only) nor belong to
// another user. A local user who can read the key can copy the client's
// credential; one who can write either file, or replace it, chooses the
// identity presented. Such a file is refused with an *InsecureFileError
// (matching ErrInsecureCertificateFile) naming the path at fault, inside
// the *ConfigError. On Windows, where mode bits do not describe the ACLs,
// none of this is checked. Kubernetes mounts secret volumes with mode
// 0644 by default: give the volume defaultMode 0400 (or 0440 with an
// fsGroup and WithCertificateKeyGroupReadable).
func NewClientCertificateFromFiles(certFile, keyFile string, opts ...ClientCertificateOption) (*ClientCertificate, error) {
	cfg, err := applyClientCertificateOptions(opts)
	if err != nil {
		return nil, err
	}
	if certFile == "" {
		return nil, configErrorf("certFile", nil, "a certificate file name is required")
	}
	if keyFile == "" {
		return nil, configErrorf("keyFile", nil, "a key file name is required")
	}
	c := &ClientCertificate{
		certFile: certFile,
		keyFile:  keyFile,
		keyMask:  fileperm.Secret,
		interval: int64(cfg.interval),
		onReload: cfg.onReload,
		clk:      sysClock,
	}
	if cfg.groupRead {
		c.keyMask = fileperm.GroupReadable
	}
	if _, err := c.loadFiles(false); err != nil {
		return nil, pairConfigError(err, "certFile", "keyFile")
	}
	c.nextCheck.Store(c.clk.After(c.clk.Now(), time.Duration(c.interval)))
	return c, nil
}

// NewClientCertificateFromPEM builds a client certificate from a PEM
// certificate chain (leaf first) and a PEM private key. Update replaces it.
// A pair that does not match, whose leaf has expired or has an extended
// key usage without clientAuth is refused with a *ConfigError naming
// "certPEM" or "keyPEM" (the key's for a key that is
// not the certificate's; the certificate's for a chain whose leaf, the
// key's certificate, is not first), wrapping the cause; no key material is ever in
// it.
func NewClientCertificateFromPEM(certPEM, keyPEM []byte, opts ...ClientCertificateOption) (*ClientCertificate, error) {
	cfg, err := applyClientCertificateOptions(opts)
	if err != nil {
		return nil, err
	}
	cert, err := parseKeyPair(certPEM, keyPEM, time.Now())
	if err != nil {
		return nil, pairConfigError(err, "certPEM", "keyPEM")
	}
	c := &ClientCertificate{onReload: cfg.onReload}
	c.install(cert)
	return c, nil
}

// Reload reads the certificate files now and installs them if their
// content changed and they form a valid pair. On error the previous
// certificate stays in use; for a renewal not valid yet while the
// certificate in use is, the error wraps ErrCertificateNotYetValid (at
// every Reload while it is held back, also after an automatic check read
// it first; the hook is called once for it) and the
// renewal is installed by the first check at or after its NotBefore (see
// ClientCertificate). A chain shorter than the one in use is installed at
// once: Reload is for a caller that has finished writing the files. For a
// certificate built from PEM bytes it does nothing and returns nil.
func (c *ClientCertificate) Reload() error {
	if c.certFile == "" {
		return nil
	}
	changed, err := c.loadFiles(false)
	if changed {
		c.report(err)
	}
	return err
}

// Update installs a new certificate chain and key given as PEM. It
// refuses what the constructors refuse (a mismatched pair, an expired
// leaf, one without clientAuth in its extended key usage). On error the
// previous certificate stays in use. For a file-based certificate the
// files take over again the next time their content changes. A file
// reload in progress finishes first, so it never overwrites the
// certificate Update installed with files it read before.
//
// A certificate whose NotBefore is still ahead is refused, with an error
// wrapping ErrCertificateNotYetValid that gives its NotBefore, while the
// certificate in use is valid: servers would refuse it until then (the
// issuer may have dated it ahead, or its clock may be ahead of ours), so
// installing it would break every new handshake that works now. Call
// Update again with it at or after its NotBefore. Unlike a renewal read
// from files, it is not kept to be installed later: Update has no files to
// find it in again, and an error that still installed the certificate
// later would leave the caller unable to tell what is presented. When the
// certificate in use has expired (or is not valid yet either), it is
// installed at once, as a file reload does: every server refuses an
// expired certificate, while one whose clock is ahead of ours may accept
// the new one. An installed certificate supersedes a renewal held back
// from the files, whatever the two certificates' dates: Update is the
// later decision, and a renewal on disk that took over at its NotBefore
// would replace, unannounced, the certificate Update said it installed.
// The files take over again when their content next changes (a new
// renewal written there). A refused certificate leaves the renewal
// pending.
func (c *ClientCertificate) Update(certPEM, keyPEM []byte) error {
	now := c.now()
	cert, err := parseKeyPair(certPEM, keyPEM, now)
	if err == nil {
		c.mu.Lock()
		if c.holdBack(cert, now) {
			err = c.notYetValid(cert)
		} else {
			if c.pending != nil {
				// The files hold the renewal Update supersedes: they
				// take over again when their content changes, not
				// when the next check reads the same content.
				c.lastSum = c.pendingSum
				c.pending = nil
			}
			c.install(cert)
		}
		c.mu.Unlock()
	}
	c.report(err)
	return err
}

// Certificate returns the certificate currently presented. It must not be
// modified. Certificate().Leaf is the parsed leaf (for example to compute
// an RFC 8705 "x5t#S256" confirmation).
func (c *ClientCertificate) Certificate() *tls.Certificate {
	return c.cur.Load()
}

// GetClientCertificate serves the current certificate; it has the
// signature of tls.Config.GetClientCertificate, so a ClientCertificate can
// also be used in a tls.Config of your own. It first checks the files if
// the reload interval has passed. It is called only in a full handshake:
// in a transport of your own nothing moves calls to a rotated
// certificate, so connections already open (an HTTP/2 one that always has
// a call in flight, indefinitely) and sessions its ClientSessionCache
// resumes keep presenting the previous one, a revoked one included. A Base
// given it as BaseConfig.ClientCertificate does that (new connections,
// sessions kept apart per certificate).
//
// The certificate is presented whatever the server's CertificateRequest
// says. crypto/tls, choosing from tls.Config.Certificates, would present
// none when cri.SupportsCertificate refuses it (its chain names no CA of
// the server's list, or the server takes no signature scheme its key can
// make). A server that gets no certificate answers only "certificate
// required"; one that gets a certificate it does not trust refuses it
// with an alert that names the problem ("unknown certificate authority",
// "bad certificate"), an IsCertificateError, never retried. And a server
// whose list of CAs is incomplete (it names the root, the chain presented
// is the leaf alone, the server holds the intermediate) still accepts
// it. A key the server takes no signature scheme for fails the handshake
// on the client, with crypto/tls's "peer doesn't support any of the
// certificate's signature algorithms".
func (c *ClientCertificate) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	_, _ = c.poll(true)
	return c.served(), nil
}

// served returns the certificate to present: the current one, or an empty
// one (present none) for a ClientCertificate that was not made by a
// constructor. tls.Config.GetClientCertificate must never return nil:
// crypto/tls dereferences it.
func (c *ClientCertificate) served() *tls.Certificate {
	if cert := c.cur.Load(); cert != nil {
		return cert
	}
	return &tls.Certificate{}
}

// Close stops automatic reloading; the last certificate stays in use and
// Reload still works. It always returns nil.
func (c *ClientCertificate) Close() error {
	c.closed.Store(true)
	return nil
}

// now reads the certificate's clock (the system's for one built from PEM).
func (c *ClientCertificate) now() time.Time {
	if c.clk.Now == nil {
		return time.Now()
	}
	return c.clk.Now()
}

// generation changes every time a new certificate is installed.
func (c *ClientCertificate) generation() uint64 { return c.gen.Load() }

// clientCertificateIDs hands out ClientCertificate identities.
var clientCertificateIDs atomic.Uint64

// ident returns a number that tells this ClientCertificate apart from
// every other one in the process (also one not made by a constructor):
// generations alone do not, every ClientCertificate counts its own.
func (c *ClientCertificate) ident() uint64 {
	if id := c.id.Load(); id != 0 {
		return id
	}
	c.id.CompareAndSwap(0, clientCertificateIDs.Add(1))
	return c.id.Load()
}

// poll checks the files if they are due, on the monotonic clock (a step
// of the wall clock neither delays nor hastens a check). checked is true
// when a reload found new content (err tells whether it was installed);
// the hook has been called then. err may be set when checked is false
// (a renewal still held back, reported when it was read). handshake says
// it runs inside a TLS handshake, which net/http's Transport makes on a
// dialing goroutine of its own, where no caller's recover reaches: a
// panic in the hook is recovered and logged there, or it would end the process.
func (c *ClientCertificate) poll(handshake bool) (checked bool, err error) {
	if c.certFile == "" || c.closed.Load() {
		return false, nil
	}
	now := c.clk.Now()
	n := c.clk.Mono(now)
	next := c.nextCheck.Load()
	if n < next || !c.nextCheck.CompareAndSwap(next, c.clk.After(now, time.Duration(c.interval))) {
		return false, nil // not due, or another goroutine is checking
	}
	checked, err = c.loadFiles(true)
	if checked {
		if handshake {
			// The results are set: the reload is counted all the same.
			defer hookpanic.Recover("transport: ClientCertificate reload hook")
		}
		c.report(err)
	}
	return checked, err
}

// loadFiles reads both files and installs them if their content differs
// from the last installed content. changed is false when the content is
// the same as before (nothing done), a renewal held back included until it
// is installed (err then still wraps ErrCertificateNotYetValid, for
// Reload). Files that cannot be read or do not form a pair are read once
// more at once (a rotation may have replaced both between the two reads);
// a failed attempt leaves lastSum alone, so the next check tries again.
// With settle (an automatic check), files whose chain is shorter than the
// one in use are installed only once they have stayed the same for
// chainSettleInterval (see loadPair); changed is false until then, and
// so it is for files whose key is not their certificate's until they have
// stayed the same as long (see settleMismatch).
func (c *ClientCertificate) loadFiles(settle bool) (changed bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for try := 0; ; try++ {
		var certPEM, keyPEM []byte
		var sum [sha256.Size]byte
		certPEM, keyPEM, sum, err = c.readFiles()
		if err == nil {
			changed, err = c.loadPair(certPEM, keyPEM, sum, settle)
			clear(keyPEM)
		} else {
			changed = true
		}
		if _, bad := errors.AsType[*pairError](err); !bad || try > 0 {
			return c.settleMismatch(changed, err, sum, settle)
		}
		// The files are read one after the other: a rotation that
		// replaced both at once in between (a Kubernetes secret
		// volume's "..data" symlink swap, a rename of their directory)
		// gave a pair that never was on disk, or a file already
		// removed. Read them once more before reporting a failure.
	}
}

// settleMismatch returns what loadFiles returns for its last reading of
// the files, whose content hashes to sum: changed and err, unless err says
// that their key is not their certificate's (or is cut) and settle is
// set (an automatic check). A rotation writing the files one after the
// other, not at once, read between its writes, gives such a pair, and the
// next write a good one: so files with a mismatch are reported only when
// checks have read them the same for chainSettleInterval (the next check
// is made then at the latest), and once; until then, and after, changed
// is false and err nil (the certificate in use stays). Reload reports a
// mismatch at once: it is called once the files are written. c.mu is
// held.
func (c *ClientCertificate) settleMismatch(changed bool, err error, sum [sha256.Size]byte, settle bool) (bool, error) {
	pe, ok := errors.AsType[*pairError](err)
	if !ok || !pe.mismatch {
		c.mismatch = false // other files: a mismatch read again is new
		return changed, err
	}
	if !settle || c.cur.Load() == nil {
		return changed, err
	}
	now := c.now()
	n := c.clk.Mono(now)
	if !c.mismatch || sum != c.mismatchSum {
		c.mismatch, c.mismatchSum, c.mismatchAt, c.mismatchReported = true, sum, n, false
	}
	if c.mismatchReported {
		return false, nil
	}
	if wait := c.mismatchAt + int64(chainSettleInterval) - n; wait > 0 {
		if next := c.clk.After(now, time.Duration(wait)); next < c.nextCheck.Load() {
			c.nextCheck.Store(next)
		}
		return false, nil
	}
	c.mismatchReported = true
	return changed, err
}

// readFiles reads the certificate and key files and returns them with the
// hash of their content.
func (c *ClientCertificate) readFiles() (certPEM, keyPEM []byte, sum [sha256.Size]byte, err error) {
	certPEM, err = readCertificateFile(c.certFile, fileperm.Public)
	if err != nil {
		return nil, nil, sum, &pairError{cert: true, err: readError("transport: client certificate", err)}
	}
	if testHookBetweenReads != nil {
		testHookBetweenReads()
	}
	keyPEM, err = readCertificateFile(c.keyFile, c.keyMask)
	if err != nil {
		return nil, nil, sum, &pairError{err: readError("transport: client certificate key", err)}
	}
	h := sha256.New()
	h.Write(certPEM)
	h.Write([]byte{0})
	h.Write(keyPEM)
	h.Sum(sum[:0])
	return certPEM, keyPEM, sum, nil
}

// loadPair installs the pair read from the files, whose content hashes
// to sum, unless it is the content installed last; see loadFiles. c.mu is
// held.
//
// With settle, a chain shorter than the one in use is not installed until
// checks have read the same files for chainSettleInterval (the next check
// is made then at the latest). A chain file rewritten in place in more than one write (the leaf's block,
// then the intermediates') read between the writes holds a whole leaf and
// nothing after it, which parses as a valid pair, and every handshake with
// a server that needs the intermediates from the client would fail until
// the next check.
func (c *ClientCertificate) loadPair(certPEM, keyPEM []byte, sum [sha256.Size]byte, settle bool) (changed bool, err error) {
	if c.short && sum != c.shortSum {
		c.short = false // the files changed again: a new wait for them
	}
	if c.cur.Load() != nil && sum == c.lastSum {
		return false, nil
	}
	now := c.now()
	if c.pending != nil && sum == c.pendingSum {
		if c.holdBack(c.pending, now) {
			// Reported (hook, reload counter) when it was read; Reload
			// still says it is held back.
			return false, c.notYetValid(c.pending)
		}
		c.lastSum = sum
		c.install(c.pending)
		c.pending = nil
		return true, nil
	}
	cert, err := parseKeyPair(certPEM, keyPEM, now)
	if err != nil {
		return true, err
	}
	if cur := c.cur.Load(); settle && cur != nil && len(cert.Certificate) < len(cur.Certificate) {
		n := c.clk.Mono(now)
		if !c.short {
			c.short, c.shortSum, c.shortAt = true, sum, n
		}
		if wait := c.shortAt + int64(chainSettleInterval) - n; wait > 0 {
			if next := c.clk.After(now, time.Duration(wait)); next < c.nextCheck.Load() {
				c.nextCheck.Store(next)
			}
			return false, nil
		}
	}
	c.short = false
	if c.holdBack(cert, now) {
		c.pending, c.pendingSum = cert, sum
		return true, c.notYetValid(cert)
	}
	if testHookReloadInstall != nil {
		testHookReloadInstall()
	}
	c.lastSum = sum
	c.pending = nil
	c.install(cert)
	return true, nil
}

// holdBack reports whether cert, read from the files or given to Update,
// must wait for its NotBefore: it is not valid yet at now and the
// certificate in use is.
func (c *ClientCertificate) holdBack(cert *tls.Certificate, now time.Time) bool {
	if !now.Before(cert.Leaf.NotBefore) {
		return false
	}
	cur := c.cur.Load()
	return cur != nil && cur.Leaf != nil && !now.Before(cur.Leaf.NotBefore) && !now.After(cur.Leaf.NotAfter)
}

// notYetValid is the error for cert, held back or refused because it is
// not valid yet while the certificate in use is (see holdBack).
func (c *ClientCertificate) notYetValid(cert *tls.Certificate) error {
	return fmt.Errorf("%w: valid from %s; the certificate in use, valid until %s, is presented until then",
		ErrCertificateNotYetValid, cert.Leaf.NotBefore.UTC().Format(time.RFC3339),
		c.cur.Load().Leaf.NotAfter.UTC().Format(time.RFC3339))
}

// testHookBetweenReads, when set by a test, runs in a file reload between
// reading the certificate file and reading the key file.
var testHookBetweenReads func()

// testHookReloadInstall, when set by a test, runs in a file reload between
// reading and parsing the files and installing the certificate.
var testHookReloadInstall func()

func (c *ClientCertificate) install(cert *tls.Certificate) {
	c.cur.Store(cert)
	c.gen.Add(1)
}

func (c *ClientCertificate) report(err error) {
	if c.onReload != nil {
		c.onReload(err)
	}
}

// readError wraps readCertificateFile's error with prefix, except an
// *InsecureFileError, which names its file already.
func readError(prefix string, err error) error {
	if _, ok := err.(*InsecureFileError); ok {
		return err
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// readCertificateFile reads a certificate or key file, which must be a
// regular file (or a symlink to one): reading a FIFO or device could block
// a reload, and the handshake it runs in, forever while it holds the lock
// of every later reload. Its permission bits may not intersect mask, and
// it and the directories on its path must pass fileperm's checks (see
// NewClientCertificateFromFiles), or it is refused with an
// *InsecureFileError. The mode and owner are checked on the opened file,
// so a swap after the check cannot slip an insecure file past it.
func readCertificateFile(name string, mask fs.FileMode) ([]byte, error) {
	if err := fileperm.PathDirs(name); err != nil {
		if de, ok := errors.AsType[*fileperm.DirError](err); ok {
			return nil, &InsecureFileError{File: name, Path: de.Dir, Reason: de.Reason}
		}
		return nil, err
	}
	f, err := openCertificateFile(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%v)", name, fi.Mode().Type())
	}
	if err := fileperm.File(fi, mask); err != nil {
		return nil, &InsecureFileError{File: name, Path: name, Reason: err.Error()}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCertificateFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCertificateFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxCertificateFileSize)
	}
	return b, nil
}

// parseKeyPair parses a PEM chain and key and checks that they match and
// that the leaf has not expired at now: every server refuses an expired client
// certificate, so installing one in place of a valid one (a stale file
// restored by a rotation) would only break the handshakes that work. So
// would a leaf whose extended key usage leaves out clientAuth (a renewal
// issued from a server profile): a server verifying client certificates
// refuses it.
// A leaf not yet valid is accepted: the issuer's clock may be a little
// ahead of ours (loadFiles holds it back, and Update refuses it, while the
// certificate in use is valid).
//
// A certificate PEM with a block that does not decode (a chain file read
// while a rotation was still writing it, cut inside the intermediate) is
// refused: crypto/tls stops at such a block and would return the leaf
// without the rest of its chain, a pair that matches but that a server
// needing the intermediate refuses on every handshake.
func parseKeyPair(certPEM, keyPEM []byte, now time.Time) (*tls.Certificate, error) {
	if truncatedPEM(certPEM) {
		return nil, &pairError{cert: true, err: errors.New("transport: client certificate: a PEM block is truncated or malformed (file still being written?)")}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if n := keyCertificateIndex(certPEM, keyPEM); n > 0 {
			return nil, &pairError{cert: true, err: fmt.Errorf(
				"transport: client certificate: the key belongs to certificate %d of the chain, not to the first: the chain must start with the key's certificate (the leaf), then its intermediates", n+1)}
		}
		hasCert := hasCertificate(certPEM)
		return nil, &pairError{cert: !hasCert, mismatch: hasCert, err: fmt.Errorf("transport: client certificate: %w", err)}
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, &pairError{cert: true, err: fmt.Errorf("transport: client certificate: %w", err)}
		}
		cert.Leaf = leaf
	}
	if now.After(cert.Leaf.NotAfter) {
		return nil, &pairError{cert: true, err: fmt.Errorf("transport: client certificate: expired at %s", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))}
	}
	if !clientAuthAllowed(cert.Leaf) {
		return nil, &pairError{cert: true, err: errors.New("transport: client certificate: its extended key usage does not allow client authentication (no clientAuth)")}
	}
	return &cert, nil
}

// clientAuthAllowed reports whether leaf may authenticate a TLS client: it
// has no extended key usage (any use), or one that lists clientAuth or
// anyExtendedKeyUsage. A server verifying client certificates refuses
// any other (RFC 5280 section 4.2.1.12; crypto/tls's "bad certificate").
func clientAuthAllowed(leaf *x509.Certificate) bool {
	if len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0 {
		return true
	}
	return slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) ||
		slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny)
}

// truncatedPEM reports whether data has a "-----BEGIN" line that does not
// start a block pem.Decode can decode (pem.Decode skips such a block, and
// everything after it when it is the last one, without an error).
func truncatedPEM(data []byte) bool {
	begins := 0
	for rest := data; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if bytes.HasPrefix(line, []byte("-----BEGIN ")) {
			begins++
		}
	}
	blocks := 0
	for rest := data; ; blocks++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
	}
	return blocks < begins
}

// keyCertificateIndex returns the index, among certPEM's CERTIFICATE
// blocks, of the first certificate keyPEM is the key of, or -1. A chain
// assembled intermediate first ("cat ca.crt client.crt") holds the key's
// certificate after another one: crypto/tls, taking the first for the
// leaf, finds the key does not match, and the certificate file, not the
// key, is at fault. Only called on that error path.
func keyCertificateIndex(certPEM, keyPEM []byte) int {
	i := 0
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return -1
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if _, err := tls.X509KeyPair(pem.EncodeToMemory(b), keyPEM); err == nil {
			return i
		}
		i++
	}
}

// hasCertificate reports whether certPEM's first CERTIFICATE block parses:
// when it does, a pair tls.X509KeyPair refused is the key's fault (missing,
// unparseable, or not the certificate's key).
func hasCertificate(certPEM []byte) bool {
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return false
		}
		if b.Type == "CERTIFICATE" {
			_, err := x509.ParseCertificate(b.Bytes)
			return err == nil
		}
	}
}

// pairError is why a certificate and key were refused, and which of the
// two is at fault. Its message is the cause's: never any key material.
type pairError struct {
	cert     bool // the certificate (file) is at fault, else the key
	mismatch bool // the certificate parses, the key is not its key or does not parse
	err      error
}

func (e *pairError) Error() string { return e.err.Error() }
func (e *pairError) Unwrap() error { return e.err }

// pairConfigError turns a constructor's refusal of its certificate and key
// into a *ConfigError naming the argument at fault.
func pairConfigError(err error, certOpt, keyOpt string) error {
	pe, ok := errors.AsType[*pairError](err)
	if !ok {
		return err
	}
	if pe.cert {
		return configErrorf(certOpt, pe.err, "refused")
	}
	return configErrorf(keyOpt, pe.err, "refused")
}
