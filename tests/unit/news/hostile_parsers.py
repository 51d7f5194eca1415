"""Parser functions for the worker-process tests: module-level, so a spawned process can import them.

Each misbehaves on the "Wire" feed only and parses every other document normally."""

from __future__ import annotations

import os
import time

from thebot.news.worker import Digest, TagSpec, digest_in_process


def hangs_on_wire(kind: str, content: bytes, content_type: str, source: str, spec: TagSpec) -> Digest:
    if b"<title>Wire</title>" in content:
        time.sleep(60)
    return digest_in_process(kind, content, content_type, source, spec)


def dies_on_wire(kind: str, content: bytes, content_type: str, source: str, spec: TagSpec) -> Digest:
    if b"<title>Wire</title>" in content:
        os._exit(3)
    return digest_in_process(kind, content, content_type, source, spec)
