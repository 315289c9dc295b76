"""The command line, `python -m pipeline COMMAND` (one parser: `cli.main.build_parser`)."""
