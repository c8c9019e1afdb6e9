from ticketing.auth.models import Base
from ticketing.common.migrations import run_env

run_env(Base.metadata)
