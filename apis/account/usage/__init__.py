"""Metered usage of the caller's organisation and apps."""
