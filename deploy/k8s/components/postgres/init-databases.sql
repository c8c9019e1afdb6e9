-- One database per service (DESIGN.md: a service reads and writes only its own), owned by
-- that service's own login role: no superuser, no CREATEDB or CREATEROLE, and no CONNECT
-- to another service's database. The service migrates and serves as that role; the
-- image's superuser (POSTGRES_USER) only runs this script.
-- Runs once, when the PostgreSQL data directory is first created; compose.yaml mounts
-- this same file, so the two deployments create the same roles and databases. Each
-- role's password comes from the server's environment (\getenv, psql 15 or newer); an
-- unset one stops the script (ON_ERROR_STOP) before any role exists. The image runs it on
-- the first start only: set the password, delete the data volume, start again.
\getenv auth_password AUTH_DB_PASSWORD
\getenv tickets_password TICKETS_DB_PASSWORD
\getenv orders_password ORDERS_DB_PASSWORD
\getenv expiration_password EXPIRATION_DB_PASSWORD
\getenv payments_password PAYMENTS_DB_PASSWORD
\getenv passes_password PASSES_DB_PASSWORD
\getenv notifications_password NOTIFICATIONS_DB_PASSWORD

BEGIN;
CREATE ROLE auth LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'auth_password';
CREATE ROLE tickets LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'tickets_password';
CREATE ROLE orders LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'orders_password';
CREATE ROLE expiration LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'expiration_password';
CREATE ROLE payments LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'payments_password';
CREATE ROLE passes LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'passes_password';
CREATE ROLE notifications LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'notifications_password';
COMMIT;

CREATE DATABASE auth OWNER auth;
CREATE DATABASE tickets OWNER tickets;
CREATE DATABASE orders OWNER orders;
CREATE DATABASE expiration OWNER expiration;
CREATE DATABASE payments OWNER payments;
CREATE DATABASE passes OWNER passes;
CREATE DATABASE notifications OWNER notifications;

REVOKE ALL ON DATABASE auth, tickets, orders, expiration, payments, passes, notifications, postgres
    FROM PUBLIC;
