"""Fails while its module is imported."""

raise RuntimeError("this plugin cannot find its configuration file")
