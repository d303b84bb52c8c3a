package codec

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// A Web UI with single sign-on (its auth settings) can pass each user's
// own access token to the codec endpoint (TEMPORAL_CODEC_PASS_ACCESS_TOKEN
// =true): no shared secret in the UI at all. The token is one the Temporal
// frontend accepts, so the codec endpoint asks the frontend: a
// DescribeNamespace of the request's namespace (X-Namespace) with that
// token. Whoever Temporal lets read the namespace, which is whoever sees
// its histories in the UI, may decode them; nobody else.

// NamespaceDescriber is the part of the Temporal frontend the verifier
// calls (client.Client.WorkflowService()).
type NamespaceDescriber interface {
	DescribeNamespace(ctx context.Context, in *workflowservice.DescribeNamespaceRequest, opts ...grpc.CallOption) (*workflowservice.DescribeNamespaceResponse, error)
}

// ErrNoAuthorizer: the frontend accepted a made-up token, so it does not
// check tokens and cannot vouch for anyone.
var ErrNoAuthorizer = errors.New("the Temporal frontend accepted a made-up access token: it has no authorizer, so it cannot vouch " +
	"for Web UI users; configure its JWT authorizer, or authenticate to the codec endpoint with the codec token or its login")

// verifierCacheTTL is how long a verdict is reused: the UI decodes every
// event of a history page with its own request.
const verifierCacheTTL = time.Minute

// maxCached bounds the verdicts kept.
const maxCached = 4096

// TemporalVerifier's Verify is a ServerOptions.VerifyAccessToken that asks
// the Temporal frontend. Probe it first: a frontend without an authorizer
// accepts any token.
type TemporalVerifier struct {
	Service NamespaceDescriber
	// Timeout bounds one question to the frontend; 0: 5 s.
	Timeout time.Duration

	mu    sync.Mutex
	cache map[[32]byte]time.Time // token+namespace -> accepted until
	now   func() time.Time
}

// Verify returns nil when the frontend accepts token for namespace.
func (v *TemporalVerifier) Verify(ctx context.Context, namespace, token string) error {
	key := sha256.Sum256([]byte(namespace + "\x00" + token))
	now := v.clock()
	v.mu.Lock()
	if until, ok := v.cache[key]; ok && now.Before(until) {
		v.mu.Unlock()
		return nil
	}
	v.mu.Unlock()
	if err := v.ask(ctx, namespace, token); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache == nil || len(v.cache) >= maxCached {
		v.cache = map[[32]byte]time.Time{}
	}
	v.cache[key] = now.Add(verifierCacheTTL)
	return nil
}

// Probe checks the frontend refuses a made-up token (ErrNoAuthorizer
// otherwise).
func (v *TemporalVerifier) Probe(ctx context.Context, namespace string) error {
	if err := v.ask(ctx, namespace, "ardent-codec-probe.not-a-token"); err == nil {
		return ErrNoAuthorizer
	}
	return nil
}

func (v *TemporalVerifier) ask(ctx context.Context, namespace, token string) error {
	timeout := v.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	if _, err := v.Service.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace}); err != nil {
		return fmt.Errorf("the Temporal frontend refused the access token for namespace %q: %w", namespace, err)
	}
	return nil
}

func (v *TemporalVerifier) clock() time.Time {
	if v.now != nil {
		return v.now()
	}
	return time.Now()
}
