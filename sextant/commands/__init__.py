"""Subcommands of `sextant`, one module each (see sextant.cli.SUBCOMMANDS)."""
