package dbsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ConnError is a failure to reach or log in to a database, worded as one
// line for a user. Msg never contains a password.
type ConnError struct {
	Msg string
	Err error // the driver's error, for errors.As/Is
}

// Error returns the one-line message.
func (e *ConnError) Error() string { return e.Msg }

// Unwrap returns the driver's error.
func (e *ConnError) Unwrap() error { return e.Err }

// SQLSTATEs of connection failures (PostgreSQL Appendix A).
const (
	codeInvalidPassword      = "28P01"
	codeInvalidAuthorization = "28000" // no such role, pg_hba.conf rejects
	codeInvalidCatalogName   = "3D000" // database does not exist
	codeInsufficientPriv     = "42501" // no CONNECT privilege
)

// explainConnect turns a pgx connection error into a *ConnError that says
// what went wrong and where, using the error types and SQLSTATEs rather than
// the driver's wording (which changes between versions).
func explainConnect(ctx context.Context, cfg *pgx.ConnConfig, err error) error {
	if ctx.Err() != nil {
		return ctx.Err() // interrupted: not a connection problem
	}
	where := target(&cfg.Config)
	user := cfg.User
	ce := func(format string, args ...any) error {
		return &ConnError{Msg: fmt.Sprintf(format, args...), Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeInvalidPassword:
			return ce("authentication failed for user %q at %s: %s (check the password in the URL, PGPASSWORD or ~/.pgpass)", user, where, pgErr.Message)
		case codeInvalidAuthorization:
			return ce("authentication failed for user %q at %s: %s", user, where, pgErr.Message)
		case codeInvalidCatalogName:
			return ce("cannot connect to %s: %s", where, pgErr.Message)
		case codeInsufficientPriv:
			return ce("user %q may not connect to database %q at %s: %s", user, cfg.Database, where, pgErr.Message)
		}
		return ce("cannot connect to %s as user %q: %s (SQLSTATE %s)", where, user, pgErr.Message, pgErr.Code)
	}
	if pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return ce("timed out after %s connecting to PostgreSQL at %s (is the server running and reachable?)", cfg.ConnectTimeout, where)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return ce("cannot resolve database host %q: %s", dnsErr.Name, dnsErr.Err)
	}
	if msg, ok := tlsProblem(err); ok {
		return ce("TLS with PostgreSQL at %s failed: %s", where, msg)
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ce("cannot connect to PostgreSQL at %s: connection refused (is the server running?)", where)
	case errors.Is(err, syscall.ENOENT):
		return ce("cannot connect to PostgreSQL at %s: no such socket (is the server running?)", where)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return ce("cannot connect to PostgreSQL at %s: %v (is the server running?)", where, opErr.Err)
	}
	return ce("cannot connect to PostgreSQL at %s as user %q: %s", where, user, oneLine(innermost(err)))
}

// tlsProblem recognises a failed TLS negotiation.
func tlsProblem(err error) (string, bool) {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		alert    tls.AlertError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid):
		return "the server's certificate was not accepted: " + oneLine(innermost(err)) + " (check sslmode and sslrootcert)", true
	case errors.As(err, &record), errors.As(err, &alert):
		return oneLine(innermost(err)) + " (check sslmode)", true
	}
	// pgconn has no type for this one: it is errors.New in pgconn.startTLS.
	if strings.Contains(err.Error(), "server refused TLS connection") {
		return "the server does not accept TLS connections but sslmode requires TLS (use sslmode=prefer or disable, or enable ssl on the server)", true
	}
	return "", false
}

// target names where a configuration points: host:port, or the socket path
// for a unix socket, with the database.
func target(cfg *pgconn.Config) string {
	var addr string
	if strings.HasPrefix(cfg.Host, "/") {
		addr = cfg.Host + "/.s.PGSQL." + strconv.Itoa(int(cfg.Port))
	} else {
		addr = net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	}
	if cfg.Database != "" {
		addr += " (database " + strconv.Quote(cfg.Database) + ")"
	}
	return addr
}

// innermost returns the message of the deepest single cause of err, which
// is where the driver puts the useful part ("connection reset by peer").
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	return err.Error()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

var (
	kvPassword  = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
	urlPassword = regexp.MustCompile(`(://[^:/@\s]*:)[^@\s/]*@`)
)

// Redact hides the password of a connection string (URL or key=value form)
// so that it can appear in messages.
func Redact(conn string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	conn = urlPassword.ReplaceAllString(conn, "${1}xxxxx@")
	return kvPassword.ReplaceAllString(conn, "${1}xxxxx")
}

// parseReason is the reason pgx gives for rejecting conn, without the
// connection string it quotes and with any password scrubbed.
func parseReason(err error, conn string) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "`: "); i >= 0 {
		msg = msg[i+3:]
	}
	for _, pw := range passwords(conn) {
		if len(pw) >= 3 {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return oneLine(msg)
}

// passwords finds the password literals a connection string may contain.
func passwords(conn string) []string {
	var out []string
	if u, err := url.Parse(conn); err == nil {
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw, url.UserPassword("", pw).String())
		}
		if pw := u.Query().Get("password"); pw != "" {
			out = append(out, pw)
		}
	}
	if m := urlPassword.FindStringSubmatch(conn); m != nil {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(m[0], m[1]), "@"))
	}
	for _, m := range kvPassword.FindAllStringSubmatch(conn, -1) {
		out = append(out, strings.Trim(m[2], "'"))
	}
	return out
}
