-- One database per service (DESIGN.md: a service reads and writes only its own).
-- Runs once, when the PostgreSQL data directory is first created; compose.yaml mounts
-- this same file, so the two deployments create the same databases.
CREATE DATABASE auth;
CREATE DATABASE tickets;
CREATE DATABASE orders;
CREATE DATABASE expiration;
CREATE DATABASE payments;
