"""Grids: many cells from one spec, planned with shared phases, run and resumed."""
