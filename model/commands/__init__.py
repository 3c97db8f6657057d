"""The ``rnbayes`` subcommands, one module per area; each lists its ``COMMANDS``.

The top of the data flow: may import every stage. Heavy imports happen inside the commands.
"""
