package configerr

// zeroChecks are the functions the packages with constructors registered
// with RegisterZeroCheck, in their init functions (so before any value of
// their types can exist, and never concurrently with Unconstructed).
var zeroChecks []func(v any) string

// RegisterZeroCheck adds check, which returns a reason ("a zero
// tokens.Cache: not made by NewCache") when v is a value of one of the
// registering package's types that was not made by its constructor and
// would panic or block when used, and "" otherwise. Call it from init only.
func RegisterZeroCheck(check func(v any) string) {
	zeroChecks = append(zeroChecks, check)
}

// Unconstructed returns a *Error naming option when v is a value of a
// securecall type that was not made by its constructor (a zero value such
// as new(signer.KeySet)), and nil otherwise. Constructors that accept an
// interface (a tokens.Source, a signer.KeySource, a tokens.Store) call it
// so that such a value is refused up front rather than panicking or
// hanging at call time.
func Unconstructed(option string, v any) *Error {
	for _, check := range zeroChecks {
		if reason := check(v); reason != "" {
			return &Error{Option: option, Reason: reason}
		}
	}
	return nil
}
