"""The host's Debian mirrors, read from its apt sources (one-line and deb822), for mmdebstrap."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from sextant.devenv.images.layout import DEBIAN_SUITE


def debian_mirrors(sources: Sequence[Path] | None = None) -> list[str]:
    """One-line apt sources for bookworm's main component, from the host's apt sources.

    Reads /etc/apt/sources.list and sources.list.d (one-line and deb822 formats) and keeps
    the Debian suites of bookworm; falls back to deb.debian.org.
    """
    if sources is None:
        apt = Path("/etc/apt")
        sources = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*"))]
    lines: list[str] = []
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        deb822 = path.suffix == ".sources"
        entries = _deb822_entries(text) if deb822 else _one_line_entries(text)
        for uri, suite in entries:
            line = f"deb {uri} {suite} main"
            if suite.split("-")[0] == DEBIAN_SUITE and line not in lines:
                lines.append(line)
    if not any(line.split()[2] == DEBIAN_SUITE for line in lines):
        lines.insert(0, f"deb http://deb.debian.org/debian {DEBIAN_SUITE} main")
    return lines


def _one_line_entries(text: str) -> Iterator[tuple[str, str]]:
    for raw in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", raw.split("#", 1)[0]).split()
        if len(words) >= 4 and words[0] == "deb" and "main" in words[3:]:
            yield words[1], words[2]


def _deb822_entries(text: str) -> Iterator[tuple[str, str]]:
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "main" not in fields.get("components", "").split():
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                yield uri, suite
