from ticketflow_runtime.migrations import run_env

from issuance.store.tables import metadata

run_env(metadata)
