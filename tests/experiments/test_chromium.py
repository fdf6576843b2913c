"""The HTML report as a person sees it: rendered by headless Chromium (skipped without it)."""

import re
import shutil
import subprocess

import pytest

from codistill.experiments.html import render_report
from codistill.experiments.plots import fidelity_vs_accuracy, metric_vs_k
from tests.experiments.test_plots import _records

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs Debian's chromium)")

PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  document.body.setAttribute('data-images', imgs.map(i => i.complete && i.naturalWidth > 0 ? 'ok' : 'broken').join(','));
  document.body.setAttribute('data-result-rows', document.querySelectorAll('table.results tr').length);
  document.body.setAttribute('data-pair-rows', document.querySelectorAll('table.pairs tr').length);
  document.body.setAttribute('data-scripts', document.scripts.length);
});
</script>"""


def test_report_renders_tables_and_images_in_chromium(tmp_path):
    figures = [
        (metric_vs_k(_records(), "sst2", "accuracy", tmp_path / "a.png"), "accuracy vs k"),
        (fidelity_vs_accuracy(_records(), tmp_path / "f.png"), "fidelity"),
    ]
    evil = "<img src=x onerror=alert(1)><script>document.title='pwned'</script>"
    page = render_report(
        _records(),
        title="sweep",
        metrics=["accuracy", "agreement"],
        figures=figures,
        pairs=[
            {
                "original_id": "1",
                "original_text": f"good {evil}",
                "counterfactual_text": f"bad {evil}",
                "counterfactual_label": 0,
            }
        ],
    )
    # the probe script is ours, appended after rendering; the page itself must contain no script
    path = tmp_path / "report.html"
    path.write_text(page.replace("</body>", PROBE + "</body>"))
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", dom).group(1)
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))
    assert attrs["images"] == "ok,ok"  # both embedded PNGs decoded
    assert int(attrs["result-rows"]) == 4  # two metrics x (header + one task row)
    assert int(attrs["pair-rows"]) == 2
    assert attrs["scripts"] == "1"  # only the probe: the untrusted text stayed text
    assert "<title>sweep</title>" in dom and "pwned" not in dom.split("</title>")[0]
