"""PostgreSQL URLs as `ticketing up` hands them out, without loading SQLAlchemy to parse them."""

from urllib.parse import quote, urlsplit, urlunsplit

from ticketing.common.database_url import libpq_dsn


def database_url(admin_url: str, database: str) -> str:
    """The same server, user and options as `admin_url`, on another database."""
    return urlunsplit(urlsplit(libpq_dsn(admin_url))._replace(path=f"/{database}"))


def role_url(admin_url: str, database: str, role: str, password: str) -> str:
    """The same server and options as `admin_url`, on `database`, signed in as `role`."""
    parts = urlsplit(database_url(admin_url, database))
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
