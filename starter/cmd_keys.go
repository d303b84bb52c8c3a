package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ardent-cdc/ardent/internal/secrets"
)

// newKeysCmd groups master-key chores: generating a key and re-sealing the
// catalog under the current one after a rotation.
func newKeysCmd(c *cli) *cobra.Command {
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Manage the master key that encrypts credentials and Temporal payloads",
	}
	keys.AddCommand(newKeysGenerateCmd(c), newKeysRotateCmd(c))
	return keys
}

func newKeysGenerateCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "generate",
		Short: "Print a new random master key (base64 of 32 bytes) and nothing else",
		Long: `Print a new random master key, base64 of 32 bytes, on stdout and nothing else,
so it can be captured directly:

  ardent keys generate > master.key && chmod 600 master.key`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			k, err := secrets.GenerateKey()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(c.out, secrets.EncodeKey(k))
			return err
		},
	}
}

func newKeysRotateCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate",
		Short: "Re-seal every connector's credentials under the current master key",
		Long: `Re-seal every connector's credentials (dropped connectors included) under the
current master key, in one transaction, and print how many connectors changed.

To rotate: set ARDENT_MASTER_KEY (or ARDENT_MASTER_KEY_FILE) to the new key and
ARDENT_OLD_MASTER_KEYS to the previous one(s), restart the workers, run this
command, then remove the old keys once no Temporal history you still need to
read was written under them (workflow histories keep their payloads).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kr, err := c.keyring()
			if err != nil {
				return err
			}
			cat, err := c.catalog(ctx)
			if err != nil {
				return err
			}
			n, err := cat.RotateKeys(ctx, kr)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.out, "re-sealed %d connector(s) under key %s\n", n, kr.CurrentID())
			return err
		},
	}
}
