"""Orders: owns orders and a replica of tickets; reserves a ticket for one buyer at a time."""
