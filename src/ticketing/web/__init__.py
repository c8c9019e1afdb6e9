"""The web client: server-rendered pages over the public APIs; it owns no data."""
