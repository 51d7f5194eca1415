"""`python -m thebot.bench NAME [args]`: run one benchmark and print its result as one JSON line.

Each benchmark is a module `thebot.bench.<name>` with `run(argv: list[str]) -> dict[str, object]`.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys

import thebot.bench


def available() -> list[str]:
    return sorted(
        module.name
        for module in pkgutil.iter_modules(thebot.bench.__path__)
        if not module.name.startswith("_")
    )


def main(argv: list[str]) -> int:
    names = available()
    if not argv or argv[0] not in names:
        print(
            f"usage: python -m thebot.bench NAME [args]; NAME is one of: {', '.join(names)}", file=sys.stderr
        )
        return 2
    module = importlib.import_module(f"thebot.bench.{argv[0]}")
    result = module.run(argv[1:])
    print(json.dumps({"benchmark": argv[0], **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
