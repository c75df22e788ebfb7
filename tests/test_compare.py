"""`gadgetbuild compare`: per gadget, the toolchains' sizes side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gadgetbuild.errors import UsageError
from gadgetbuild.manifest import ArtifactStatus
from gadgetbuild.views.compare import compare_toolchains
from gadgetbuild.views.sizes import MEASURES
from gadgetbuild.views.sources import load_manifest
from inspect_support import check_golden, run_cli, standard_artifacts


@pytest.fixture
def artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    standard_artifacts(tmp_path / "artifacts")
    return Path("artifacts")


def test_baseline_defaults_to_the_first_toolchain_by_name(artifacts: Path) -> None:
    _, manifest = load_manifest(artifacts)

    comparisons = compare_toolchains(manifest)

    assert [c.gadget for c in comparisons] == ["exec-filter", "hello"]
    hello = comparisons[1]
    assert hello.baseline == "go-1.24"
    go, tinygo = hello.toolchains
    assert (go.toolchain, tinygo.toolchain) == ("go-1.24", "tinygo-0.41")
    assert go.ratio == dict.fromkeys(MEASURES, 1.0)
    for measure in MEASURES:
        size, base = tinygo.sizes[measure], go.sizes[measure]
        assert size is not None
        assert base is not None
        assert tinygo.ratio[measure] == pytest.approx(size / base, abs=1e-3)
    assert tinygo.sizes["stripped"] < go.sizes["stripped"]  # type: ignore[operator]


def test_unavailable_toolchain_has_no_sizes_and_no_ratio(artifacts: Path) -> None:
    _, manifest = load_manifest(artifacts)

    tinygo = compare_toolchains(manifest)[0].toolchains[1]

    assert tinygo.status is ArtifactStatus.UNAVAILABLE
    assert set(tinygo.sizes.values()) == {None}
    assert set(tinygo.ratio.values()) == {None}


def test_chosen_baseline_comes_first(artifacts: Path) -> None:
    _, manifest = load_manifest(artifacts)

    hello = compare_toolchains(manifest, "tinygo-0.41")[1]

    assert [t.toolchain for t in hello.toolchains] == ["tinygo-0.41", "go-1.24"]
    ratio = hello.toolchains[1].ratio["stripped"]
    assert ratio is not None
    assert ratio > 1


def test_unknown_baseline_is_a_usage_error(artifacts: Path) -> None:
    _, manifest = load_manifest(artifacts)

    with pytest.raises(UsageError, match=r"no toolchain 'tinygo-0\.34' in the manifest"):
        compare_toolchains(manifest, "tinygo-0.34")


def test_cli_table(artifacts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "compare", artifacts)

    assert (status, err) == (0, "")
    check_golden("compare.txt", out)


def test_cli_markdown(artifacts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(
        capsys, "compare", "--format", "markdown", "--baseline", "tinygo-0.41", artifacts
    )

    assert status == 0
    assert out.startswith("| gadget | size | tinygo-0.41 | go-1.24 | go-1.24 / tinygo-0.41 |\n")
    check_golden("compare.md", out)


def test_cli_json(artifacts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "compare", "--json", artifacts / "manifest.json")
    comparisons = json.loads(out)

    assert status == 0
    assert [c["gadget"] for c in comparisons] == ["exec-filter", "hello"]
    assert comparisons[1]["toolchains"][1]["compiler"] == "TinyGo 0.41.1"


def test_cli_unknown_baseline_exits_2(artifacts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "compare", "--baseline", "rustc", artifacts)

    assert (status, out) == (2, "")
    assert err == ("error: no toolchain 'rustc' in the manifest (it has go-1.24, tinygo-0.41)\n")
