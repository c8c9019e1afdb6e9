"""Payments: owns payments, payment attempts and a replica of orders; charges cards."""
