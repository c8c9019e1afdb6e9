from ticketing.common.migrations import run_env
from ticketing.passes.models import Base

run_env(Base.metadata)
