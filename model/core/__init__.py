"""Foundations every stage uses: the one input-error type, atomic files, the terminal.

- :mod:`~model.core.errors`: :class:`~model.core.errors.InputError`, every problem with its place;
- :mod:`~model.core.files`: atomic writes and the bundled data's location;
- :mod:`~model.core.console`: tables and notices for the terminal.

May import: nothing else of the package.
"""
