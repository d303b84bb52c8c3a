package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// changeStrictInput is the GetVersion change id of the input checks added
// after the first release (validateOnboardingStrict). It is asked only for an input
// that fails them, so histories of valid inputs carry no marker and replay
// unchanged, and an old history of an input that now fails replays on the
// path it took when it ran.
const changeStrictInput = "strict-input"

// maxNameLen and the rule of validName mirror internal/naming (which
// workflow code may not import): the slot "ardent_" + name must fit in
// PostgreSQL's 63-byte identifiers, and the name lands in workflow ids.
const maxNameLen = 40

// invalidInput is how a workflow refuses its input: non-retryable, typed,
// and without echoing URLs (they hold passwords).
func invalidInput(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), contract.ErrTypeInvalidInput, nil)
}

// checkStrict applies validateStrict to a new run; see changeStrictInput.
func checkStrict(ctx workflow.Context, err error) error {
	if err == nil {
		return nil
	}
	if workflow.GetVersion(ctx, changeStrictInput, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	return invalidInput(err)
}

func validateOnboarding(in contract.OnboardingInput) error {
	switch {
	case in.Name == "":
		return errors.New("onboarding input: name is empty")
	case in.SourceURL == "":
		return errors.New("onboarding input: source URL is empty")
	case in.DestinationURL == "":
		return errors.New("onboarding input: destination URL is empty")
	case in.BackoffInitial < 0 || in.BackoffMax < 0 || in.Deadline < 0:
		return errors.New("onboarding input: negative backoff or deadline")
	}
	return nil
}

// validateStrict refuses what would otherwise fail late (a name the
// activities reject after preflight, leaving a workflow no CLI command can
// address) or never (a URL that is not a connection string, retried by
// preflight for days).
func validateOnboardingStrict(in contract.OnboardingInput) error {
	if err := validName(in.Name); err != nil {
		return fmt.Errorf("onboarding input: %w", err)
	}
	if err := connString("source", in.SourceURL); err != nil {
		return fmt.Errorf("onboarding input: %w", err)
	}
	if err := connString("destination", in.DestinationURL); err != nil {
		return fmt.Errorf("onboarding input: %w", err)
	}
	if in.StreamRun < 0 {
		return errors.New("onboarding input: negative stream run")
	}
	return validSelection(in.Selection)
}

// validName is internal/naming.ValidateName's rule: ^[a-z][a-z0-9_-]{0,39}$.
func validName(name string) error {
	if len(name) > maxNameLen {
		return fmt.Errorf("connector name is %d characters long: at most %d allowed", len(name), maxNameLen)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || i > 0 && (r >= '0' && r <= '9' || r == '_' || r == '-')
		if !ok {
			return fmt.Errorf("connector name %q is not allowed: use lower-case letters, digits, '-' and '_', starting with a letter", name)
		}
	}
	if name == "" {
		return errors.New("connector name is empty")
	}
	return nil
}

// connString checks only the shape (a postgres:// URL or a key=value
// string): parsing belongs to the activities, and the text is never echoed.
func connString(which, s string) error {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, contract.SealedURLPrefix) {
		return nil // sealed by the CLI; the activities open and parse it
	}
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return nil
	}
	if !strings.Contains(s, "://") && strings.Contains(s, "=") {
		return nil
	}
	return fmt.Errorf("%s URL is not a postgres:// URL nor a key=value connection string", which)
}

func validSelection(sel contract.Selection) error {
	for _, f := range []struct {
		name  string
		names []string
	}{
		{"schemas", sel.Schemas}, {"tables", sel.Tables}, {"exclude_tables", sel.ExcludeTables},
		{"replica_identity_full", sel.ReplicaIdentityFull}, {"accept_unverified", sel.AcceptUnverified},
	} {
		for _, n := range f.names {
			if strings.TrimSpace(n) == "" || strings.ContainsRune(n, 0) {
				return fmt.Errorf("onboarding input: selection %s holds an empty name or a NUL byte", f.name)
			}
		}
	}
	return nil
}
