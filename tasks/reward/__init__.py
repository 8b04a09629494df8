"""Reward-model tasks: preference pairs scored with a Bradley–Terry reward head."""
