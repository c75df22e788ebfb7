from __future__ import annotations

from pathlib import Path

from gadgetbuild.schemas import reference_table
from gadgetbuild.specs import GadgetSpec, ToolchainSpec

REPO = Path(__file__).resolve().parents[1]


def test_readme_documents_every_spec_field() -> None:
    readme = (REPO / "README.md").read_text()

    assert reference_table(GadgetSpec) in readme, "regenerate with `gadgetbuild schema`"
    assert reference_table(ToolchainSpec) in readme


def test_readme_starts_with_the_two_commands() -> None:
    head = (REPO / "README.md").read_text().split("```sh", 1)[1].split("```", 1)[0]

    assert "nox -s build" in head
    assert "nox -s tests" in head
