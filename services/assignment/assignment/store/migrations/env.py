from ticketflow_runtime.migrations import run_env

from assignment.store.tables import metadata

run_env(metadata)
