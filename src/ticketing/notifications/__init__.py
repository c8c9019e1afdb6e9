"""Notifications: one mail per event and person, through SMTP, never lost, never twice."""
