"""The HTML report: self-contained, and it renders in a real browser (headless Chromium)."""

import re
import shutil
import subprocess

import numpy as np
import pytest

from losskit.workbench import plots, report
from losskit.workbench import train as wt
from losskit.workbench.data import load_builtin, split


@pytest.fixture(scope="module")
def tasks():
    cfg = wt.TrainConfig(epochs=2)
    out = []
    for name, keys in (("breast-cancer", ["bce", "weighted-bce", "smooth-bce"]), ("wine", ["ce", "focal"])):
        ds = load_builtin(name)
        out.append(wt.run_task(ds, split(ds, 0), wt.roster(ds.task, keys), cfg))
    return out


@pytest.fixture(scope="module")
def html_path(tasks, tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "report.html"
    report.write_html(tasks, str(path), {"command": "losskit compare --test", "date": "today", "seconds": 1.0})
    return path


def test_report_is_self_contained(html_path):
    text = html_path.read_text()
    assert text.startswith("<!doctype html>")
    # no external assets: every src is inline data, no stylesheets or scripts to fetch
    srcs = re.findall(r'src="([^"]*)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in text and "<script" not in text and "url(" not in text
    assert text.count("<table class=\"metrics\">") == 2


def test_text_table_marks_the_best(tasks):
    text = report.format_table(tasks[0])
    lines = text.splitlines()
    assert lines[0].startswith("breast-cancer (binary, positive class 'malignant'")
    assert lines[1].split()[:3] == ["loss", "acc", "macro-F1"] and "F1@thr*" in lines[1]
    assert "*" in "".join(lines[3:])
    assert len(lines) == 3 + 3


def test_best_marks_nothing_when_all_tie(tasks):
    t = tasks[1]
    for r in t.runs:
        r.metrics = dict(r.metrics, accuracy=0.5)
    assert report._best(t, "accuracy", "high") == set()


def test_loss_curves_follow_the_configured_losses(tasks):
    import torch

    z = torch.linspace(-3, 3, 7)
    curves = plots._curves(tasks[0], z)
    bce, weighted = curves[0][1], curves[1][1]  # y = 1
    pos_weight = tasks[0].resolved[1].options["pos_weight"].item()
    np.testing.assert_allclose(weighted[0], pos_weight * bce[0], rtol=1e-5)
    np.testing.assert_allclose(bce[1], torch.sigmoid(z).numpy() - 1, rtol=1e-5, atol=1e-7)  # dBCE/dz = p - y


def _screenshot(html_path, png, height):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        pytest.skip("chromium is not installed")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--hide-scrollbars", f"--window-size=1200,{height}", f"--screenshot={png}", f"file://{html_path}"]
    subprocess.run(cmd, capture_output=True, timeout=120)
    assert png.exists(), "chromium wrote no screenshot"


def test_report_renders_in_headless_chromium(html_path, tmp_path):
    from PIL import Image

    png = tmp_path / "shot.png"
    _screenshot(html_path, png, 4000)
    img = np.asarray(Image.open(png).convert("RGB")).astype(float)
    assert img.shape[:2] == (4000, 1200)
    # non-blank: many distinct colours, real contrast, and ink (non-white) in the top, middle and bottom
    assert len(np.unique(img.reshape(-1, 3)[::7], axis=0)) > 200
    assert img.std() > 20
    ink = (img < 200).any(axis=2)
    for band in np.array_split(ink, 4)[:3]:
        assert band.mean() > 0.005
    # the embedded figures decoded: some strongly coloured pixels (plot lines and bars)
    sat = img.max(axis=2) - img.min(axis=2)
    assert (sat > 100).mean() > 0.001
