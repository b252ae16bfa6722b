"""Billing: the usage meter and ledger (and, later, plans' prices, invoices and payments)."""
