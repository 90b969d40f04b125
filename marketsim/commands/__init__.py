"""One module per ``marketsim`` sub-command; each has ``<name>_command`` returning an exit code."""
