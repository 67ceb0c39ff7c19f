"""Make the helpers next to this file (``compat``, ``update_snapshots``) importable under
any pytest import mode (``prepend`` or ``importlib``), without needing ``__init__.py`` files."""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
