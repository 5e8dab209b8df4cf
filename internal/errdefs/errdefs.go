// Package errdefs classifies failures by what the caller can do about them,
// so that the parts of the daemon that decide (sessions, docs) need not know
// about HTTP, and the API maps each kind to one status code in one place.
package errdefs

import (
	"errors"
	"fmt"
)

// Kind is a class of failure.
type Kind int

const (
	// Invalid: the request itself is wrong (fix it and retry).
	Invalid Kind = iota + 1
	// Forbidden: the caller may not do this.
	Forbidden
	// NotFound: the thing asked for does not exist.
	NotFound
	// Conflict: the thing is not in a state that allows this.
	Conflict
	// Unavailable: the machine cannot do this now; an admin must fix
	// something (a missing program, a vanished directory).
	Unavailable
	// Quota: the caller's share of the machine's storage is used up
	// (their transcripts, their docs); an admin can raise it.
	Quota
)

// Error is a failure of a known kind with a message for the caller.
type Error struct {
	Kind Kind
	Msg  string
	Err  error // the underlying cause, for logs; may be nil
	// Fix, when there is one, says what the caller can do, in words for
	// the person who reads it.
	Fix string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func newf(k Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: k, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// Invalidf returns an Invalid error; %w in format keeps the cause.
func Invalidf(format string, args ...any) error { return newf(Invalid, format, args...) }

// Forbiddenf returns a Forbidden error.
func Forbiddenf(format string, args ...any) error { return newf(Forbidden, format, args...) }

// NotFoundf returns a NotFound error.
func NotFoundf(format string, args ...any) error { return newf(NotFound, format, args...) }

// Conflictf returns a Conflict error.
func Conflictf(format string, args ...any) error { return newf(Conflict, format, args...) }

// Unavailablef returns an Unavailable error.
func Unavailablef(format string, args ...any) error { return newf(Unavailable, format, args...) }

// Quotaf returns a Quota error.
func Quotaf(format string, args ...any) error { return newf(Quota, format, args...) }

// WithFix returns err with fix as what its caller can do; err must be an
// *Error (made by this package), else it is returned as it is.
func WithFix(err error, fix string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Fix = fix
	return &c
}

// KindOf returns the kind of the first *Error in err's chain.
func KindOf(err error) (Kind, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, true
	}
	return 0, false
}
