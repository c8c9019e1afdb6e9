"""Expiration: owns pending reservation timers; fires expiration.complete when one is due."""
