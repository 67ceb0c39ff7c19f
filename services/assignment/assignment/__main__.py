from ticketflow_runtime.cli import main

from .app import create_service

main(create_service)
