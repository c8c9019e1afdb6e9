"""The one place a database URL's driver is rewritten: operators give the plain
`postgresql://` form every tool prints; SQLAlchemy wants it with its asyncpg driver, and
asyncpg.connect (the relay's, orders' LISTEN) and libpq want it plain. Only the scheme changes:
credentials, host and options pass through as written. No SQLAlchemy here, so settings and
the runtime can use it without loading it."""


def _rest(url: str) -> str:
    scheme, separator, rest = url.partition("://")
    if not separator or not scheme.startswith("postgres"):
        raise ValueError("a database URL must be a postgresql:// URL")
    return rest


def asyncpg_url(url: str) -> str:
    """`postgresql+asyncpg://…`, the form SQLAlchemy's engine takes."""
    return f"postgresql+asyncpg://{_rest(url)}"


def libpq_dsn(url: str) -> str:
    """`postgresql://…`, the form asyncpg.connect and libpq's tools take."""
    return f"postgresql://{_rest(url)}"
