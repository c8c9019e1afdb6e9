"""PostgreSQL URLs as `ticketing up` hands them out, without loading SQLAlchemy to parse them."""

from urllib.parse import quote, urlsplit, urlunsplit


def plain_url(url: str) -> str:
    """The libpq form (`postgresql://`), whatever driver the given URL named."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise ValueError(f"not a PostgreSQL URL: {parts.scheme}://…")
    return urlunsplit(parts._replace(scheme="postgresql"))


def database_url(admin_url: str, database: str) -> str:
    """The same server, user and options as `admin_url`, on another database."""
    return urlunsplit(urlsplit(plain_url(admin_url))._replace(path=f"/{database}"))


def role_url(admin_url: str, database: str, role: str, password: str) -> str:
    """The same server and options as `admin_url`, on `database`, signed in as `role`."""
    parts = urlsplit(database_url(admin_url, database))
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
