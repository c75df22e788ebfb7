from __future__ import annotations

from pathlib import Path

import pytest

from gadgetbuild.context import build_context
from gadgetbuild.errors import UsageError
from gadgetbuild.plan import Shard, make_plan

REPO = Path(__file__).resolve().parents[1]


def test_matrix_is_gadgets_by_toolchains() -> None:
    plan = make_plan(REPO / "gadgets", REPO / "toolchains")

    keys = [a.key for a in plan.artifacts]
    assert len(keys) == len(plan.gadgets) * len(plan.toolchains) == 8
    assert ("dns-json", "go-1.24") in keys


def test_filters() -> None:
    plan = make_plan(
        REPO / "gadgets", REPO / "toolchains", only_gadgets=("hello",), only_toolchains=("go-1.24",)
    )

    assert [a.key for a in plan.artifacts] == [("hello", "go-1.24")]


def test_unknown_filter_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--gadget nope"):
        make_plan(REPO / "gadgets", REPO / "toolchains", only_gadgets=("nope",))


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "1"])
def test_bad_shard(text: str) -> None:
    with pytest.raises(UsageError, match="--shard"):
        Shard.parse(text)


def test_shards_partition_the_matrix() -> None:
    full = {a.key for a in make_plan(REPO / "gadgets", REPO / "toolchains").artifacts}
    parts = [
        {
            a.key
            for a in make_plan(REPO / "gadgets", REPO / "toolchains", shard=Shard(i, 3)).artifacts
        }
        for i in (1, 2, 3)
    ]

    assert set().union(*parts) == full
    assert sum(len(p) for p in parts) == len(full)


def test_build_context_includes_replace_targets() -> None:
    context = build_context(REPO / "gadgets" / "hello")

    names = {p.relative_to(context.base).as_posix() for p in context.files()}
    assert "hello/gadget.toml" in names
    assert any(n.startswith("_shared/ig/") and n.endswith(".go") for n in names)


def test_source_hash_changes_with_shared_code(tmp_path: Path) -> None:
    shared = tmp_path / "lib"
    shared.mkdir()
    (shared / "go.mod").write_text("module lib\n")
    (shared / "lib.go").write_text("package lib\n")
    gadget = tmp_path / "g"
    gadget.mkdir()
    (gadget / "go.mod").write_text("module g\n\nrequire lib v0.0.0\n\nreplace lib => ../lib\n")

    before = build_context(gadget).source_hash()
    (shared / "lib.go").write_text("package lib // changed\n")

    assert build_context(gadget).source_hash() != before
