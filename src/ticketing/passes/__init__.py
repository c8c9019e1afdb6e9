"""Passes: what a buyer enters with, checked in once at the door, resold under a cap."""
