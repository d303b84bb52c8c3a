package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/ardent-cdc/ardent/worker/codec"
)

// DefaultCodecListen is where `ardent codec-server` listens by default.
const DefaultCodecListen = "127.0.0.1:8089"

func newCodecServerCmd(c *cli) *cobra.Command {
	var (
		listen, tokenFile       string
		origins                 []string
		accessTokens, pathToken bool
	)
	cmd := &cobra.Command{
		Use:   "codec-server",
		Short: "Serve the Temporal Web UI's codec endpoint on its own, so payloads decode when no worker runs",
		Long: `Serve the codec endpoint the Temporal Web UI decodes Ardent's encrypted payloads
through (POST /codec/decode and /codec/encode), without a worker: support can read a
connector's history exactly when its workers are down. Every worker serves the same
endpoint under ARDENT_HTTP_ADDRESS/codec/.

It needs the master key (ARDENT_MASTER_KEY or ARDENT_MASTER_KEY_FILE) and a way to
authenticate callers; the codec token is never a flag (a flag's value shows in ps):
  - the codec token, from ARDENT_CODEC_TOKEN or --token-file (ARDENT_CODEC_TOKEN_FILE),
    as "Authorization: Bearer TOKEN" (the CLI, scripts, temporal --codec-auth), or typed
    once into the login form at /codec/login, which gives the browser a session cookie.
    Point the Web UI at http://HOST:PORT/codec with TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true
    (or serve this endpoint under the UI's own origin): the token is then in no UI setting;
  - --access-tokens: a Web UI with single sign-on passes each user's own access token
    (TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true); it is accepted when the Temporal frontend
    accepts it for the request's namespace. Refused at start when the frontend accepts a
    made-up token (no authorizer);
  - --allow-path-token: the token as a path segment (/codec/TOKEN), for the dev server's
    Web UI on a single-user laptop only: the UI shows its codec endpoint to every user.

It runs until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kr, err := c.keyring()
			if err != nil {
				return usageErr("%w", err)
			}
			cfg := c.cfg
			if tokenFile == "" {
				tokenFile = cfg.CodecTokenFile
			}
			if !cmd.Flags().Changed("allowed-origins") {
				origins = cfg.CodecCORSOrigins
			}
			ep := codec.Endpoint{Token: cfg.CodecToken, TokenFile: tokenFile, AllowedOrigins: origins,
				PathToken: pathToken || cfg.CodecPathToken, AccessTokens: accessTokens || cfg.CodecAccessTokens,
				Namespace: cfg.TemporalNamespace}
			if ep.AccessTokens {
				if err := cfg.ValidateClient(); err != nil {
					return usageErr("configuration: %w", err)
				}
				tc, err := client.DialContext(ctx, client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
					Logger: tlog.NewStructuredLogger(c.log)})
				if err != nil {
					return fmt.Errorf("connect to Temporal at %s to verify access tokens: %w", cfg.TemporalAddress, err)
				}
				defer tc.Close()
				ep.Service = tc.WorkflowService()
			}
			h, err := ep.Handler(ctx, kr)
			if errors.Is(err, codec.ErrNoToken) {
				return usageErr("nothing to authenticate callers with: set ARDENT_CODEC_TOKEN, or --token-file (ARDENT_CODEC_TOKEN_FILE), or --access-tokens")
			}
			if err != nil {
				return usageErr("%w", err)
			}
			return serveCodec(ctx, c, listen, h, ep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", DefaultCodecListen, "host:port to serve the endpoint on")
	f.StringSliceVar(&origins, "allowed-origins", nil,
		"browser origins of the Web UI allowed by CORS, comma separated (ARDENT_CODEC_CORS_ORIGINS; default the dev server's UI)")
	f.StringVar(&tokenFile, "token-file", "", "file holding the codec token, mode 0600 (ARDENT_CODEC_TOKEN_FILE; or set ARDENT_CODEC_TOKEN)")
	f.BoolVar(&accessTokens, "access-tokens", false,
		"accept Web UI users' own access tokens that the Temporal frontend accepts (ARDENT_CODEC_ACCESS_TOKENS)")
	f.BoolVar(&pathToken, "allow-path-token", false, "accept the token as a path segment: a laptop's dev UI only (ARDENT_CODEC_PATH_TOKEN)")
	return cmd
}

func serveCodec(ctx context.Context, c *cli, listen string, h http.Handler, ep codec.Endpoint) error {
	mux := http.NewServeMux()
	mux.Handle("/codec/", http.StripPrefix("/codec", h))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	how := "the codec token (Authorization: Bearer, or the login form)"
	if ep.AccessTokens {
		how += ", Web UI users' access tokens verified by Temporal"
	}
	if ep.PathToken {
		how += ", the token as a path segment"
	}
	fmt.Fprintf(c.out, "codec server on http://%s/codec (log in: http://%s/codec/login); callers authenticate with %s; allowed origins: %v\n",
		ln.Addr(), ln.Addr(), how, originsOrDefault(ep.AllowedOrigins))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("codec server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

func originsOrDefault(o []string) []string {
	if len(o) == 0 {
		return codec.DefaultOrigins
	}
	return o
}
