"""One module per ``marketsim`` sub-command; each exposes ``<name>_command`` returning an exit code."""
