from tests.common.probe import Base
from ticketing.common.migrations import run_env

run_env(Base.metadata)
