from tests.common.probe import metadata
from ticketing.common.migrations import run_env

run_env(metadata)
