"""python -m console [serve | hash-password]"""

import argparse
import getpass

import uvicorn

from .app import create_app
from .settings import Settings
from .staff import hash_password

parser = argparse.ArgumentParser(prog="console")
parser.add_argument("command", nargs="?", choices=["serve", "hash-password"], default="serve")
if parser.parse_args().command == "hash-password":
    print(hash_password(getpass.getpass("Password: ")))
else:
    settings = Settings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None,
                access_log=False, timeout_graceful_shutdown=10)
