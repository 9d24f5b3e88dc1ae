"""Subcommands of the ``hallujudge`` command line, one module each (see ``_cli.py``)."""
