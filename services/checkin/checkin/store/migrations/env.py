from ticketflow_runtime.migrations import run_env

from checkin.store.tables import metadata

run_env(metadata)
