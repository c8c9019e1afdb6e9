from ticketing.common.migrations import run_env
from ticketing.tickets.models import Base

run_env(Base.metadata)
