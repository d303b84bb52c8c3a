package main

import "github.com/spf13/cobra"

// extraCommands are the commands whose files land separately.
func extraCommands(c *cli) []*cobra.Command {
	var cmds []*cobra.Command
	for _, f := range commandFactories {
		cmds = append(cmds, f(c))
	}
	return cmds
}

// commandFactories is filled in this file only, explicitly, as commands land.
var commandFactories = []func(*cli) *cobra.Command{newKeysCmd}
