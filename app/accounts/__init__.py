"""Accounts: organisations (and, with developer access, users, memberships and apps)."""
