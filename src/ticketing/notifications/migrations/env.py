from ticketing.common.migrations import run_env
from ticketing.notifications.models import Base

run_env(Base.metadata)
