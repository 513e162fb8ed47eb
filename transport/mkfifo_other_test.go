//go:build !unix

package transport_test

import "errors"

func mkfifo(string) error { return errors.ErrUnsupported }
