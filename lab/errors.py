"""Errors the user fixes by changing the machine's setup rather than an input file.

Kept apart from the modules that raise them so that the command layer can catch them without
importing the embedding and scoring stack.
"""


class SetupError(RuntimeError):
    """Something the named command cannot run without (an embedding model that does not load, a
    calibration not fitted yet); the message names the command or setting that fixes it. The CLI
    prints it as one line and exits 2."""
