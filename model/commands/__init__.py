"""The ``rnbayes`` subcommands, one module per area; each lists its ``COMMANDS``."""
