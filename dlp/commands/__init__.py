"""Subcommands that live in their own module.

Each module here defines `register(subparsers)`, which adds its parser(s) and sets `func` to a
callable taking the parsed args and returning an exit code. `dlp.cli` discovers the modules, so
adding a command touches no other file. Raise `dlp.errors.ConfigError`/`CaptureError` for user
mistakes: the CLI turns them into a one-line error and exit code 2.
"""
