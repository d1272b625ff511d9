"""Code, docstrings and documentation speak of the product and its users.

Not of how the project was built: no words from the tools and conversations it was made with,
and no references to tracker items (a number means nothing to a reader of the code).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The one place these words are written: the list of words that must not be.
INTERNAL_WORDS = ("seed", "wizard", "accordion")
FOLDERS = ("gainsight_assets", "resources", "schedules", "sensors", "benchmarks", "tests", "deploy")
FILES = ("README.md", "BENCHMARKS.md", "pyproject.toml", "workspace.yaml")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".tpl", ""}
WORD = re.compile(r"(?i)\b(" + "|".join(INTERNAL_WORDS) + r")")
TRACKER_ITEM = re.compile(r"(?i)\bissues?[ -]?#?\d+\b|(?<![\w&/#])#\d+\b")


def project_files() -> list[Path]:
    paths = [ROOT / name for name in FILES]
    paths += [
        path
        for folder in (*FOLDERS, "docs")
        if (ROOT / folder).is_dir()
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts
    ]
    return [path for path in paths if path.exists() and path != Path(__file__).resolve()]


def test_the_checks_see_what_they_look_for() -> None:
    assert WORD.search("a Seeded tenant") and WORD.search("load_x, " + INTERNAL_WORDS[1] + " step")
    assert TRACKER_ITEM.search("fixed in #12") and TRACKER_ITEM.search("see issue 12")
    assert not TRACKER_ITEM.search("color: #fff; page.html#top; &#12;")


def test_no_internal_words_or_tracker_numbers() -> None:
    found = []
    for path in project_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            match = WORD.search(line) or TRACKER_ITEM.search(line)
            if match:
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    assert found == []
