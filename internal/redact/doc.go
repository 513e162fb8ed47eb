// Package redact decides what of a request may appear in telemetry and
// error strings.
//
// A Policy is an allowlist: the values of the query keys and the headers it
// names may be shown; everything else is replaced with Redacted. The zero
// Policy, and a nil *Policy, show nothing. Userinfo (user name and
// password) and fragments are never shown, and neither are the values of
// credential headers (Authorization, Cookie, ...), whatever the allowlist
// says. The path is shown: a secret in a path segment (a bot token, a
// webhook secret) is not redacted. Only a path that reads as a userinfo
// in a URL without a host ("https:///user:pw@host", or a URL built by
// hand whose Path is "//user:pw@host/x" or whose Opaque is
// "///user:pw@host/x") is replaced with Redacted (see
// Policy.URL).
//
// Policy.URL renders a *url.URL for a span attribute; Policy.Error rewrites
// every *url.Error in an error chain, whose message otherwise carries the
// full URL with its query string, and every net error (*net.DNSError,
// *net.AddrError, *net.ParseError) whose name or address holds the userinfo
// a URL built by hand left in its Host, while keeping errors.Is and
// errors.As working on the errors it wraps.
package redact
