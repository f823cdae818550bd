"""One module per `negoray` subcommand; each exposes `register(subparsers)`."""
