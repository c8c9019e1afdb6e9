"""The event bus: NATS JetStream connection, the transactional outbox and listeners."""
