"""The one way tests reach a Docker engine: skip with the reason where none answers, fail
instead when GADGETBUILD_REQUIRE_DOCKER=1 (CI)."""

from __future__ import annotations

import os

import pytest

from gadgetbuild.toolchains.engine import Engine, NoEngine, connect_engine

REQUIRE_ENV = "GADGETBUILD_REQUIRE_DOCKER"


def engine_or_skip() -> Engine:
    engine = connect_engine()
    if isinstance(engine, NoEngine):
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {engine.reason}")
        pytest.skip(engine.reason)
    return engine
