package node

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"tickwire/behaviour"
	"tickwire/feedserver"
	"tickwire/protocol"
)

// Behaviours runs the WebAssembly behaviours a node's topic rules name
// (docs/behaviours.md): one behaviour.Runtime, made on the first module.
type Behaviours struct {
	rt *behaviour.Runtime
}

// TopicRules returns the feed server's topic rules for specs (then the
// defaults: feedserver.TopicRules), loading every module they name under
// cfg's bounds. A module that does not load (not WebAssembly, the wrong
// ABI, a missing function) is an error naming the rule and the file. The
// Behaviours returned must be closed after the server; it reloads the
// modules for Config.ReloadBehaviours.
func TopicRules(ctx context.Context, specs []feedserver.TopicRuleSpec, cfg behaviour.Config) ([]feedserver.TopicRule, *Behaviours, error) {
	b := &Behaviours{}
	rules, err := feedserver.TopicRules(specs, func(path, fn string) (feedserver.Behaviour, error) {
		if b.rt == nil {
			rt, err := behaviour.NewRuntime(ctx, cfg)
			if err != nil {
				return nil, err
			}
			b.rt = rt
		}
		m, err := b.rt.Behaviour(ctx, path, fn)
		if err != nil {
			return nil, err
		}
		return wasmBehaviour{m}, nil
	})
	if err != nil {
		_ = b.Close(ctx)
		return nil, nil, err
	}
	return rules, b, nil
}

// Any reports whether a module was loaded.
func (b *Behaviours) Any() bool { return b != nil && b.rt != nil }

// Reload reloads every module, all or nothing (behaviour.Runtime.Reload).
func (b *Behaviours) Reload(ctx context.Context) error {
	if !b.Any() {
		return feedserver.ErrNoReload
	}
	return b.rt.Reload(ctx)
}

// Close closes the modules; nil-safe.
func (b *Behaviours) Close(ctx context.Context) error {
	if !b.Any() {
		return nil
	}
	return b.rt.Close(ctx)
}

// Configure sets cfg's reload to b's, when b has modules.
func (b *Behaviours) Configure(cfg *feedserver.Config) {
	if b.Any() {
		cfg.ReloadBehaviours = b.Reload
	}
}

// wasmBehaviour gives a module's failures their reason's label
// (feedserver.FailureReason).
type wasmBehaviour struct{ b *behaviour.Behaviour }

func (w wasmBehaviour) Name() string { return w.b.Name() }

func (w wasmBehaviour) Merge(dst, src *protocol.Quote) error {
	if err := w.b.Merge(dst, src); err != nil {
		return reasoned{err}
	}
	return nil
}

// reasoned is a module's failure, labelled by its behaviour.Reason.
type reasoned struct{ error }

func (r reasoned) Unwrap() error { return r.error }

func (r reasoned) FailureReason() string {
	if reason := behaviour.ReasonOf(r.error); reason != 0 {
		return reason.String()
	}
	return "error"
}

// ReloadOn reloads srv's behaviours for every signal received on sig (the
// server's SIGHUP) until ctx ends, logging the outcome (Server.ReloadBehaviours
// logs it too).
func ReloadOn(ctx context.Context, srv *feedserver.Server, sig <-chan os.Signal, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sig:
			err := srv.ReloadBehaviours(ctx)
			switch {
			case errors.Is(err, feedserver.ErrNoReload):
				log.Info("reload signal: no behaviours configured, nothing to reload", "signal", s.String())
			case err != nil:
				log.Error("reload signal: behaviours not reloaded", "signal", s.String(), "err", err)
			}
		}
	}
}
