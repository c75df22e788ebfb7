from __future__ import annotations

from pathlib import Path

from gadgetbuild.schemas import stale_schemas

REPO = Path(__file__).resolve().parents[1]


def test_committed_schemas_match_the_models() -> None:
    assert stale_schemas(REPO / "schemas") == [], "run `gadgetbuild schema` and commit"
