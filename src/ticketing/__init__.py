"""Ticketing: a marketplace for tickets to popular shows."""
