// Package e2e holds the tests that build the recallbot binary and drive it
// as a person or a supervisor would: SIGKILL mid-work, exit codes, two
// instances on one Redis ledger, the installs (systemd, the container's
// layout) and the README's tour (its try-it block). It also holds the
// docs to the code: the promises name real tests, and the packages import
// each other as docs/ARCHITECTURE.md draws them. It has no code of its own.
package e2e
