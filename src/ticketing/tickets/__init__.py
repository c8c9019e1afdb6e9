"""Tickets: owns the listings, their price and status; the source of every ticket event."""
