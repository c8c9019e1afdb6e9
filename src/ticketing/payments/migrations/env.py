from ticketing.common.migrations import run_env
from ticketing.payments.models import Base

run_env(Base.metadata)
