"""Cache keys change when what they stand for changes: hub revisions, codistill releases."""

from pathlib import Path

from codistill.models.loading import model_fingerprint


def _fake_hub_snapshot(cache: Path, repo: str, commit: str) -> None:
    root = cache / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    snap = root / "snapshots" / commit
    snap.mkdir(parents=True, exist_ok=True)
    (snap / "config.json").write_text("{}")


def test_hub_fingerprint_includes_the_resolved_revision(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub_constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path))
    repo = "someone/tiny-teacher"
    _fake_hub_snapshot(tmp_path, repo, "a" * 40)
    first = model_fingerprint(repo)
    assert model_fingerprint(repo) == first
    _fake_hub_snapshot(tmp_path, repo, "b" * 40)  # a new upload under the same id
    assert model_fingerprint(repo) != first


def test_teacher_cache_key_changes_with_the_full_version(monkeypatch, sentiment_dir):
    import codistill.teacher.finetune as finetune
    from codistill.data import DataConfig, load_task
    from codistill.teacher import TeacherConfig

    config = TeacherConfig(data=DataConfig(task="local", data_dir=str(sentiment_dir)))
    data = load_task(config.data)
    monkeypatch.setattr(finetune, "__version__", "0.1.0")
    before = finetune.teacher_fingerprint(config, data, "m")
    monkeypatch.setattr(finetune, "__version__", "0.1.1")  # a patch release
    assert finetune.teacher_fingerprint(config, data, "m") != before
    monkeypatch.setattr(finetune, "TEACHER_CACHE_SCHEMA", finetune.TEACHER_CACHE_SCHEMA + 1)
    assert len({before, finetune.teacher_fingerprint(config, data, "m")}) == 2
