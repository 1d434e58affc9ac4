// Package fileio holds what the tool families that read files share: how
// a path parameter is located through the permission set and how a failed
// file operation becomes a tool error naming the parameter.
package fileio

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// Locate locates one path parameter for reading or writing. A nil set
// refuses everything.
func Locate(ps *perm.Set, acc perm.Access, param, path string) (perm.Loc, error) {
	if ps == nil {
		return perm.Loc{}, tools.Errorf(tools.TypePermission, "parameter %q: %s %s: no file permissions are configured", param, acc, path)
	}
	l, err := ps.Locate(path, acc)
	if err != nil {
		return perm.Loc{}, fmt.Errorf("parameter %q: %w", param, err)
	}
	return l, nil
}

// Err turns an error of a file operation into a tool error naming the
// parameter: the sandbox's own errors keep their type (a file of the wrong
// kind is a validation error), others are described by OSErr.
func Err(param, path string, err error) error {
	if errors.Is(err, perm.ErrDenied) || errors.Is(err, perm.ErrInvalid) || errors.Is(err, perm.ErrTooLarge) {
		return fmt.Errorf("parameter %q: %w", param, err)
	}
	return OSErr(param, path, err)
}

// OSErr turns an error from the operating system into an execution
// error naming the parameter.
func OSErr(param, path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return tools.Failed("parameter %q: %s does not exist", param, path)
	case errors.Is(err, fs.ErrPermission):
		return tools.Failed("parameter %q: %s: the operating system refused access", param, path)
	case errors.Is(err, syscall.ENOTDIR):
		return tools.Failed("parameter %q: %s: a parent is not a folder", param, path)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return tools.Failed("parameter %q: %s: %v", param, path, err)
}
