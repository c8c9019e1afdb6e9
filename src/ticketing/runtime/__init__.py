"""Runs the whole system on one machine: embedded NATS and PostgreSQL, services, gateway."""
