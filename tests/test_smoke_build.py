"""Integration: the smoke stage in real builds, and `gadgetbuild bench` on their artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import MiniRepo
from gadgetbuild.cli import main
from gadgetbuild.manifest import ArtifactStatus, read_manifest

REPO = Path(__file__).resolve().parents[1]
GADGETS = ("dns-json", "exec-filter", "hello", "tcp-top")
# Events each scenario delivers; every one of them has expectations checked.
SCENARIO_EVENTS = {"dns-json": 6, "exec-filter": 6, "hello": 0, "tcp-top": 6}

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def go_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("artifacts")
    argv = ["build", "--gadgets-dir", str(REPO / "gadgets"), "--toolchains-dir"]
    argv += [str(REPO / "toolchains"), "--out", str(out), "--backend", "local"]
    assert main([*argv, "--toolchain", "go-1.24"]) == 0
    return out


def test_the_four_go_artifacts_pass_the_smoke_stage(go_build: Path) -> None:
    records = read_manifest(go_build / "manifest.json").artifacts

    assert sorted(r.gadget for r in records) == list(GADGETS)
    for record in records:
        # Cached records keep the smoke result of the build that made them.
        assert record.status in {ArtifactStatus.BUILT, ArtifactStatus.CACHED}, record.reason
        assert record.smoke is not None
        assert record.smoke.passed
        assert record.smoke.events == SCENARIO_EVENTS[record.gadget]
        assert record.smoke.checks > 1
        assert record.smoke.runtime.startswith("wasmtime ")
        if record.status is ArtifactStatus.BUILT:
            assert "smoke" in record.timings_ms


def test_bench_quick_writes_ordered_positive_percentiles(go_build: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    argv = ["bench", "--manifest", str(go_build), "--gadgets-dir", str(REPO / "gadgets")]

    assert main([*argv, "--out", str(out), "--quick"]) == 0

    report = json.loads((out / "bench.json").read_text())
    assert report["queue_capacity"] > 0
    results = {r["gadget"]: r for r in report["results"]}
    assert sorted(results) == list(GADGETS)
    assert results["hello"]["latency"] == []
    for gadget in ("dns-json", "exec-filter", "tcp-top"):
        figures = results[gadget]
        assert figures["toolchain"] == "go-1.24"
        assert figures["load_ms"] > 0
        assert figures["memory_pages_end"] >= figures["memory_pages_start"] > 0
        assert [level["concurrency"] for level in figures["latency"]] == [1, 50, 200, 1000]
        for level in figures["latency"]:
            assert level["delivered"] + level["dropped"] == level["offered"]
            assert 0 < level["p50_us"] <= level["p99_us"] <= level["p999_us"] <= level["max_us"]
        assert (out / f"{gadget}-latency.png").read_bytes().startswith(b"\x89PNG")


def test_a_gadget_failing_init_fails_its_artifact_in_the_smoke_stage(mini_repo: MiniRepo) -> None:
    main_go = mini_repo.gadgets / "alpha" / "main.go"
    main_go.write_text(main_go.read_text().replace("return 0", "return 3"))

    assert main(mini_repo.build_args()) == 1

    records = {r.gadget: r for r in read_manifest(mini_repo.out / "manifest.json").artifacts}
    alpha, beta = records["alpha"], records["beta"]
    assert alpha.status is ArtifactStatus.FAILED
    assert alpha.reason == "smoke: gadgetInit: returned 3, not 0"
    assert alpha.smoke is not None
    assert (alpha.smoke.passed, alpha.smoke.export) == (False, "gadgetInit")
    assert beta.status in {ArtifactStatus.BUILT, ArtifactStatus.CACHED}


def test_no_smoke_skips_the_stage_and_is_not_served_to_a_smoke_build(mini_repo: MiniRepo) -> None:
    assert main(mini_repo.build_args("--no-smoke")) == 0
    skipped = read_manifest(mini_repo.out / "manifest.json").artifacts
    assert all(r.smoke is None and "smoke" not in r.timings_ms for r in skipped)

    assert main(mini_repo.build_args()) == 0
    smoked = read_manifest(mini_repo.out / "manifest.json").artifacts
    done = {ArtifactStatus.BUILT, ArtifactStatus.CACHED}  # another test may have built one
    assert all(r.status in done and r.smoke and r.smoke.passed for r in smoked)
