package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ardent-cdc/ardent/internal/config"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/worker/codec"
)

// startHTTP serves /metrics, /healthz and, when a codec token (or access
// token verification) is set, the Web UI's codec endpoint under /codec/.
// svc is the Temporal frontend that verifies Web UI users' access tokens.
func startHTTP(ctx context.Context, cfg config.Config, kr *secrets.Keyring, reg *prometheus.Registry, svc codec.NamespaceDescriber,
	log *slog.Logger) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		log.Info("pprof enabled", "path", "/debug/pprof/")
	}
	h, err := codecEndpoint(cfg, svc).Handler(ctx, kr)
	switch {
	case errors.Is(err, codec.ErrNoToken):
		log.Warn("codec endpoint disabled: set ARDENT_CODEC_TOKEN to let the Web UI decode payloads")
	case err != nil:
		return nil, fmt.Errorf("codec endpoint: %w", err)
	default:
		mux.Handle("/codec/", http.StripPrefix("/codec", h))
	}
	if cfg.HTTPAddress == "" {
		return &http.Server{}, nil
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddress)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for metrics (ARDENT_HTTP_ADDRESS; another worker on this machine? give each its own): %w", cfg.HTTPAddress, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "error", err)
		}
	}()
	return srv, nil
}

// codecEndpoint is the codec endpoint's configuration, the same for the
// worker's /codec/ and `ardent codec-server`.
func codecEndpoint(cfg config.Config, svc codec.NamespaceDescriber) codec.Endpoint {
	return codec.Endpoint{Token: cfg.CodecToken, TokenFile: cfg.CodecTokenFile, AllowedOrigins: cfg.CodecCORSOrigins,
		PathToken: cfg.CodecPathToken, AccessTokens: cfg.CodecAccessTokens, Service: svc, Namespace: cfg.TemporalNamespace}
}
