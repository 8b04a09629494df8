"""Deliberately broken plugins, one contract violation each, and one valid plugin."""
