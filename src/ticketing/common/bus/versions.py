"""Replica ordering (guarantee 4): version v applies only on top of v-1."""


class VersionGap(Exception):
    """The replica is behind: an earlier event has not arrived yet. Retry later."""


class StaleEvent(Exception):
    """The replica already holds this version or a newer one. Acknowledge and drop."""


def require_next_version(current: int | None, incoming: int) -> None:
    """`current` is None when the replica has no row yet."""
    if current is None or current < incoming - 1:
        raise VersionGap(f"replica at {current}, event at {incoming}")
    if current >= incoming:
        raise StaleEvent(f"replica at {current}, event at {incoming}")
