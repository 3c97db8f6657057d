"""The live tumor-board page (``rnbayes serve``).

A local web page that scores a lesion as its values are typed, with what-if controls for
pending results:

- :mod:`~model.serve.answers`: what the page shows, from the package's own scorer;
- :mod:`~model.serve.app`: the Flask application: the page, its script and its JSON answers.

May import: every stage below the commands.
"""
