"""Test data factories: plain functions that build real rows through the services."""
