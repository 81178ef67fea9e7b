package connectors

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/contactsync/contactsync/pkg/source"
	"github.com/contactsync/contactsync/pkg/store"
)

// ErrNoSetup: the platform's connector cannot check credentials or list
// install options.
var ErrNoSetup = errors.New("connectors: the platform's connector offers no such call")

// setupClient builds a fresh, uncached client of a connection that may
// not be stored yet (its config in the clear), after the same host check
// as every client; the client is the platform's own (not wrapped), so its
// optional interfaces show.
func (r *Registry) setupClient(conn store.Connection, cfg map[string]string) (platformClient, error) {
	spec, ok := r.specs().Lookup(conn.Platform)
	if !ok {
		return nil, &source.CredentialsRejectedError{Reason: source.SafeReason(fmt.Sprintf("%v %q", ErrUnsupportedPlatform, conn.Platform))}
	}
	if bad := badHosts(spec, cfg, r.AllowPrivateHosts); bad != "" {
		return nil, &source.CredentialsRejectedError{Reason: "the configuration names a host that may not be called (" + bad + ")"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.newClient(conn, spec, cfg)
	if err != nil {
		return nil, &source.CredentialsRejectedError{Reason: source.SafeReason(strings.TrimPrefix(err.Error(), "permanent failure: "), r.secrets(cfg)...)}
	}
	return c.platformClient, nil
}

// CheckCredentials makes the connection's one cheap call to its platform
// (source.CredentialChecker) with cfg, the config in the clear. It
// returns nil when the platform accepted the credentials, a
// *source.CredentialsRejectedError when it refused them and a
// *source.PlatformError when it could not tell; reasons are safe to show.
func (r *Registry) CheckCredentials(ctx context.Context, conn store.Connection, cfg map[string]string) error {
	c, err := r.setupClient(conn, cfg)
	if err != nil {
		return err
	}
	ch, ok := c.(source.CredentialChecker)
	if !ok {
		return fmt.Errorf("%w: %s credential check", ErrNoSetup, conn.Platform)
	}
	return r.safeError(ch.CheckCredentials(ctx), cfg)
}

// InstallOptions lists what the install wizard offers for the connection
// (source.OptionLister) and, when the connector lists them
// (source.FieldLister), its fields. Errors are a
// *source.CredentialsRejectedError, a *source.PlatformError (reasons safe
// to show) or the context's.
func (r *Registry) InstallOptions(ctx context.Context, conn store.Connection, cfg map[string]string) (source.InstallOptions, error) {
	c, err := r.setupClient(conn, cfg)
	if err != nil {
		return source.InstallOptions{}, err
	}
	ol, ok := c.(source.OptionLister)
	if !ok {
		return source.InstallOptions{}, fmt.Errorf("%w: %s install options", ErrNoSetup, conn.Platform)
	}
	opts, err := ol.InstallOptions(ctx)
	if err != nil {
		return source.InstallOptions{}, r.safeError(err, cfg)
	}
	if fl, ok := c.(source.FieldLister); ok {
		fields, err := fl.Fields(ctx)
		if err != nil {
			return source.InstallOptions{}, r.safeError(err, cfg)
		}
		if len(fields) > source.MaxOptions {
			fields = fields[:source.MaxOptions]
		}
		opts.Fields = fields
	}
	return opts, nil
}

// safeError keeps the typed errors (their reasons already safe) and the
// context's, and turns anything else into a *source.PlatformError whose
// reason is the client's error text (written to be shown: statuses and
// codes, never the platform's words) made safe.
func (r *Registry) safeError(err error, cfg map[string]string) error {
	var rej *source.CredentialsRejectedError
	var pe *source.PlatformError
	switch {
	case err == nil, errors.As(err, &rej), errors.As(err, &pe), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	}
	return &source.PlatformError{Reason: source.SafeReason(err.Error(), r.secrets(cfg)...)}
}
