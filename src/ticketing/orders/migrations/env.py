from ticketing.common.migrations import run_env
from ticketing.orders.models import Base

run_env(Base.metadata)
