"""No machine paths and no references to notes outside the repository in the product: code,
docstrings, model cards, docs and the weights manifest cite the papers and the authors' files."""
import re
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
PRODUCT = [*sorted((REPOSITORY / "zoo").rglob("*.py")), *sorted((REPOSITORY / "docs").rglob("*.md")),
           REPOSITORY / "README.md", REPOSITORY / "weights" / "manifest.json",
           *sorted((REPOSITORY / "benchmarks").rglob("*.md")), *sorted((REPOSITORY / "benchmarks").rglob("*.json")),
           *sorted((REPOSITORY / "examples").rglob("*.py"))]
FORBIDDEN = re.compile(r"/work/|/home/\w+/|/root/|(?<!\.\.)/shared/(papers|data)|SPEC §|SPEC\.md|DATA\.md")


@pytest.mark.parametrize("path", PRODUCT, ids=lambda p: str(p.relative_to(REPOSITORY)))
def test_no_machine_paths_or_outside_notes(path):
    hits = [f"{path.name}:{n}: {line.strip()[:100]}" for n, line in enumerate(path.read_text().splitlines(), 1)
            if FORBIDDEN.search(line)]
    assert not hits, "\n".join(hits)


def test_readme_links_resolve():
    text = (REPOSITORY / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" not in target:
            assert (REPOSITORY / target).exists(), f"README links {target}, which does not exist"
