// Package config is Ardent's one typed configuration struct and the single
// place it is loaded: flags > ARDENT_* environment > YAML file > defaults.
//
// Invariant: nothing below main reads viper or os.Getenv. Every key is
// bound explicitly (viper's Unmarshal silently drops env-only keys that have
// no default or binding), and Validate runs once before anything connects.
package config
