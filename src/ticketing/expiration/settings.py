"""Expiration's own settings: how the scheduler sleeps, batches and forgets fired timers."""

from pydantic import Field

from ticketing.common.settings import ServiceSettings


class ExpirationSettings(ServiceSettings):
    # The longest the scheduler sleeps between looks at the table. A new timer wakes its
    # own process's at once; this cap covers one another replica stored, then stopped.
    timer_max_sleep_seconds: float = Field(5.0, gt=0)
    timer_batch_size: int = Field(100, gt=0)
    # Fired timers stay this long so a late redelivered order.created finds its timer
    # already fired instead of arming a new one.
    fired_timer_retention_hours: float = Field(24.0, ge=0)
    fired_timer_purge_every_seconds: float = Field(600.0, gt=0)
