package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newScramVerifierCmd(c *cli) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "scram-verifier [--password-file FILE]",
		Short: "Print the SCRAM-SHA-256 verifier of a password, for psql -v ardent_password=...",
		Long: `Print the SCRAM-SHA-256 verifier PostgreSQL stores for a password. A script from
` + "`ardent sql`" + ` without --password-file takes one in psql's variable ardent_password,
so the clear password never reaches the server or its log:

  psql -v ON_ERROR_STOP=1 -v ardent_password="$(ardent scram-verifier)" -f ardent.sql

The password is asked twice on the terminal, or read from --password-file (mode 600;
- for stdin), or from stdin when it is not a terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var pw string
			var err error
			if file != "" {
				pw, err = readPasswordFile("password file", file, cmd.InOrStdin())
			} else {
				var ok bool
				pw, ok, err = askNewPassword(cmd, c, "Password: ")
				if err == nil && !ok {
					pw, err = readPasswordFile("password", stdinFile, cmd.InOrStdin())
				}
			}
			if err != nil {
				return err
			}
			v, err := verifierOf(pw)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(c.out, v)
			return err
		},
	}
	cmd.Flags().StringVar(&file, "password-file", "", "file holding the password (mode 600; - for stdin)")
	return cmd
}
