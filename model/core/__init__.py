"""Foundations every stage uses: the one input-error type, atomic files, the terminal.

- :mod:`~model.core.errors`: :class:`~model.core.errors.InputError`, every problem with its place;
- :mod:`~model.core.numbers`: numbers read strictly (cells and command-line options);
- :mod:`~model.core.files`: atomic writes, folders written whole, the bundled data's location;
- :mod:`~model.core.outputs`: CSV without spreadsheet formulas, strict JSON;
- :mod:`~model.core.console`: tables and notices for the terminal, user text escaped;
- :mod:`~model.core.studies`: resumable studies of independent tasks on Dask, one JSON file each.

May import: nothing else of the package.
"""
