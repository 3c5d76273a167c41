"""Print the code block of README.md marked ``<!-- ci:NAME ... -->`` (the fenced block right below).

.ci/run executes the README's install, quickstart and test commands through this script, so CI
runs exactly what a newcomer reads; a missing marker is an error (exit 2), never a silent pass.

Usage: python .ci/readme_block.py NAME [README.md]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def block(text: str, name: str) -> str:
    m = re.search(rf"<!--\s*ci:{re.escape(name)}\b[^>]*-->\s*\n```[a-z]*\n(.*?)\n```", text, re.S)
    if m is None:
        raise SystemExit(f"Error: README.md has no block marked <!-- ci:{name} -->")
    return m.group(1) + "\n"


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    readme = Path(sys.argv[2] if len(sys.argv) == 3 else Path(__file__).resolve().parents[1] / "README.md")
    try:
        sys.stdout.write(block(readme.read_text(), sys.argv[1]))
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
