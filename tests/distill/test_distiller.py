"""The Distiller's steps are overridable: a subclass changes one step and the rest of the run follows."""

from __future__ import annotations


def test_a_subclass_overrides_the_train_set_and_the_saved_files(base_config):
    from codistill.distill.run import Distiller

    class FirstFour(Distiller):
        def build_train_set(self):
            train = super().build_train_set()
            train.items = train.items[:4]
            return train

        def save_model(self, folder):
            super().save_model(folder)
            (folder / "extra.txt").write_text("saved by the subclass")

    result = FirstFour(base_config).train()
    assert result.metrics["train_set"]["size"] == 4
    assert (result.output_dir / "extra.txt").read_text() == "saved by the subclass"
    assert (result.output_dir / "model.safetensors").is_file()


def test_signal_batch_owns_the_field_names():
    import torch

    from codistill.distill.batch import SignalBatch

    batch = {
        "input_ids": torch.zeros(2, 3),
        "teacher_logits": torch.ones(2, 2),
        "pair_id": torch.tensor([0, 0]),
        "teacher_hidden": torch.zeros(2, 2, 3, 4),
    }
    signals = SignalBatch.pop(batch)
    assert set(batch) == {"input_ids"}  # what is left goes to the student
    assert signals.pair_id.tolist() == [0, 0] and signals.teacher_mask is None
    assert sorted(signals.hidden_by_layer([2, 5])) == [2, 5] and signals.hidden_by_layer([2, 5])[5].shape == (2, 3, 4)
