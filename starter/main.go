package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes the CLI and maps errors to exit codes.
func run(ctx context.Context, args []string) (code int) {
	c := newCLI(os.Stdout, os.Stderr)
	defer func() {
		// A bug must not greet the operator with a Go stack trace (nor
		// print whatever its frames hold); ARDENT_TRACEBACK=1 shows it.
		if v := recover(); v != nil {
			if os.Getenv("ARDENT_TRACEBACK") != "" {
				panic(v)
			}
			fmt.Fprintf(c.errOut, "ardent: internal error: %s\nThis is a bug in ardent: please report it with the command you ran (ARDENT_TRACEBACK=1 shows where it failed).\n",
				errorText(fmt.Errorf("%v", v), args))
			code = 1
		}
	}()
	root := newRootCmd(c)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	// cobra's own usage errors ("accepts 1 arg(s)", "unknown flag") say
	// what is wrong but not where the usage is.
	hint := ""
	if isUsageError(err) && cmd != nil {
		hint = fmt.Sprintf("\nSee `%s --help`.", cmd.CommandPath())
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(c.errOut, "ardent:", errorText(ee.err, args)+hint)
		}
		return ee.code
	}
	fmt.Fprintln(c.errOut, "ardent:", errorText(err, args)+hint)
	if isUsageError(err) {
		return 2
	}
	return 1
}
