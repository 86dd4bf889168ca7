// Package e2e holds the tests that build the recallbot binary and drive it
// as a person or a supervisor would: SIGKILL mid-work, exit codes, two
// instances on one Redis ledger, the installs (systemd, the container's
// layout), the README's tour (its try-it block) and the documented promises'
// tests. It has no code of its own.
package e2e
