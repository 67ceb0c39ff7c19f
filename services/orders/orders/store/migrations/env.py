from ticketflow_runtime.migrations import run_env

from orders.store.tables import metadata

run_env(metadata)
