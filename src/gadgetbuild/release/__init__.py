"""The release: `gadgetbuild release` and `nox -s release`.

1. provision the toolchains asked for (all by default); an unavailable one stops the release;
2. build every artifact, with no build cache (``reproduce.build_strict``);
3. build each again from a copy of its sources at another path, and compare the raw modules
   (``reproduce``);
4. the size budgets of ``gadget.toml`` and the growth limit against a baseline (``gates``);
5. write ``dist/<version>/``, its OCI layouts, provenance, ``SHA256SUMS`` and the archive
   (``layout``, ``oci``, ``provenance``, ``archive``).
"""

from gadgetbuild.release.gates import DEFAULT_MAX_GROWTH
from gadgetbuild.release.run import ReleaseRequest, ReleaseResult, run_release

__all__ = ["DEFAULT_MAX_GROWTH", "ReleaseRequest", "ReleaseResult", "run_release"]
