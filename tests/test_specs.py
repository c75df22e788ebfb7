from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gadgetbuild.errors import SpecError
from gadgetbuild.specs import discover_gadgets, discover_toolchains, load_gadget, load_toolchain

REPO = Path(__file__).resolve().parents[1]


def test_committed_toolchains_load() -> None:
    go = load_toolchain(REPO / "toolchains" / "go-1.24.toml")
    tinygo = load_toolchain(REPO / "toolchains" / "tinygo-0.41.toml")

    assert (go.family, go.version) == ("go", "1.24.11")
    assert (tinygo.family, tinygo.version) == ("tinygo", "0.41.1")
    assert "@sha256:" in go.image.ref
    assert "@sha256:" in tinygo.image.ref
    assert "-trimpath" in go.build.argv
    assert "-no-debug" not in tinygo.build.argv


@pytest.mark.parametrize("name", ["hello", "exec-filter", "tcp-top", "dns-json"])
def test_committed_gadgets_load(name: str) -> None:
    assert load_gadget(REPO / "gadgets" / name).name == name


def write_gadget(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "go.mod").write_text("module x\n\ngo 1.24\n")
    (folder / "gadget.toml").write_text(text)
    return folder


def test_gadget_missing_field_names_file_and_field(tmp_path: Path) -> None:
    folder = write_gadget(tmp_path / "g", 'name = "g"\n')

    with pytest.raises(SpecError) as caught:
        load_gadget(folder)

    assert caught.value.path == folder / "gadget.toml"
    assert "field 'description'" in caught.value.message


def test_gadget_unknown_field_is_refused(tmp_path: Path) -> None:
    folder = write_gadget(tmp_path / "g", 'name = "g"\ndescription = "d"\ncolour = "red"\n')

    with pytest.raises(SpecError, match="field 'colour'"):
        load_gadget(folder)


def test_gadget_name_must_match_folder(tmp_path: Path) -> None:
    folder = write_gadget(tmp_path / "g", 'name = "other"\ndescription = "d"\n')

    with pytest.raises(SpecError, match="folder is 'g'"):
        load_gadget(folder)


def test_gadget_bad_toml(tmp_path: Path) -> None:
    folder = write_gadget(tmp_path / "g", "name = \n")

    with pytest.raises(SpecError, match="not valid TOML"):
        load_gadget(folder)


def test_toolchain_digest_must_be_pinned(tmp_path: Path) -> None:
    text = (REPO / "toolchains" / "go-1.24.toml").read_text()
    path = tmp_path / "go-1.24.toml"
    path.write_text(text.replace("@sha256:fc58bb98", "@sha256:XYZ"))

    with pytest.raises(SpecError, match=r"field 'image\.ref'"):
        load_toolchain(path)


def test_toolchain_argv_needs_output(tmp_path: Path) -> None:
    path = tmp_path / "go-1.24.toml"
    shutil.copy(REPO / "toolchains" / "go-1.24.toml", path)
    path.write_text(path.read_text().replace('"{output}", ', ""))

    with pytest.raises(SpecError, match="must contain"):
        load_toolchain(path)


@pytest.mark.parametrize(
    ("regex", "message"), [("go(", "not a valid regex"), (r"go\d+", "needs a group")]
)
def test_toolchain_version_regex_must_compile_with_a_group(
    tmp_path: Path, regex: str, message: str
) -> None:
    path = tmp_path / "go-1.24.toml"
    text = (REPO / "toolchains" / "go-1.24.toml").read_text()
    lines = [
        f"version_regex = '{regex}'" if ln.startswith("version_regex") else ln
        for ln in text.splitlines()
    ]
    path.write_text("\n".join(lines))

    with pytest.raises(SpecError, match=rf"field 'build\.version_regex'.*{message}"):
        load_toolchain(path)


def test_an_empty_gadgets_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no gadget"):
        discover_gadgets(tmp_path)


def test_a_go_module_without_gadget_toml_is_refused(tmp_path: Path) -> None:
    write_gadget(tmp_path / "g", 'name = "g"\ndescription = "d"\n')
    (tmp_path / "lost").mkdir()
    (tmp_path / "lost" / "go.mod").write_text("module lost\n")
    (tmp_path / "_shared").mkdir()
    (tmp_path / "_shared" / "go.mod").write_text("module shared\n")

    with pytest.raises(SpecError, match=r"no gadget\.toml") as caught:
        discover_gadgets(tmp_path)

    assert caught.value.path == tmp_path / "lost"


def test_an_empty_toolchains_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no toolchain"):
        discover_toolchains(tmp_path)
