"""The Graph client and the error types stay free of Django, so provider code and tools can use them alone."""

from __future__ import annotations

import subprocess
import sys


def test_graph_and_errors_import_without_django():
    code = (
        "import sys; import shiftdesk.microsoft.graph, shiftdesk.microsoft.errors; "
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": ""})
    assert result.returncode == 0, f"Django imported by graph/errors: {result.stdout}{result.stderr}"
