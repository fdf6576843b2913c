import struct

from codistill.experiments import RunKey, RunRecord
from codistill.experiments.plots import counterfactual_quality, fidelity_vs_accuracy, metric_vs_k


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _records():
    out = []
    for k in (8, 16, 32):
        for seed in range(3):
            for cod in (False, True):
                acc = 0.6 + 0.05 * cod + 0.01 * seed + k / 1000
                out.append(RunRecord(RunKey("sst2", "kd", cod, k, seed), {"accuracy": acc, "agreement": acc + 0.05}))
    return out


def test_plots_are_written(tmp_path):
    a = metric_vs_k(_records(), "sst2", "accuracy", tmp_path / "acc.png")
    b = fidelity_vs_accuracy(_records(), tmp_path / "fid.png")
    c = counterfactual_quality({"editor": {"validity": 0.97, "edited_words": 1.2}}, tmp_path / "cf.png")
    for path in (a, b, c):
        width, height = _png_size(path)
        assert width > 300 and height > 200
