from ticketing.common.migrations import run_env
from ticketing.expiration.models import Base

run_env(Base.metadata)
