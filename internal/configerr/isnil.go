package configerr

import "reflect"

// IsNil reports whether v, an interface value, is nil or holds a nil
// pointer, map, func or the like (a typed nil: a *signer.KeySet variable
// never assigned, given where an interface is taken), which a constructor
// refuses like a nil one.
func IsNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Slice, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
