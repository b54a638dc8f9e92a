// Package reliability holds the end-to-end reliability and security suite:
// the real `putitoutthere` binary, built once per test run, driven as a
// subprocess against the in-process registry emulators, with faults injected
// at every publish step, the process killed at every step boundary, hostile
// input, planted secrets (canaries) and timeouts. It has no production code;
// docs/reliability.md lists the guarantees and the tests that hold them.
package reliability
