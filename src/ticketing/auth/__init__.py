"""Auth: owns users and their passwords; issues the session cookie."""
