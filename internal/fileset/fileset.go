// Package fileset writes warden's generated output directory all or nothing
// and compares it with what warden would generate now.
package fileset
