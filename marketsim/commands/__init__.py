"""One module per ``marketsim`` sub-command, each with ``add_arguments`` and ``main``."""
