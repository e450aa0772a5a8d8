"""The HTML report: self-contained, and it renders in a real browser (headless Chromium)."""

import math
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


@pytest.fixture(scope="module")
def seeded():
    ds = load_builtin("wine")
    return wt.run_seeds(ds, wt.roster("multiclass", ["ce", "focal"]), wt.TrainConfig(epochs=1), [0, 1])


def test_text_table_with_seeds_shows_mean_and_sd(seeded):
    lines = report.format_table(seeded).splitlines()
    assert lines[0].endswith("mean and sd over 2 seeds (0-1))")
    assert len(lines) == 3 + 2 * 2  # a mean line and an sd line per loss
    (acc_ce, sd_ce), _ = wt.summary(seeded, "accuracy")
    assert lines[3].split()[0] == "CE" and lines[3].split()[1].rstrip("*") == f"{acc_ce:.3f}"
    assert lines[4].startswith(" ") and lines[4].split()[0] == "±" + f"{sd_ce:.3f}"[1:]  # ±.012: sd < 1


def test_paired_difference_table(seeded, tasks):
    text = report.format_deltas(seeded)
    lines = text.splitlines()
    assert lines[0].startswith("difference from CE, paired by seed (mean±sd over 2 seeds")
    assert lines[1].split() == ["loss", "acc", "macro-F1", "PR-AUC", "log-loss", "ECE"]
    (_, _, _), (mean, sd, same) = wt.paired_differences(seeded, "log_loss")
    cell = lines[3].split()[4]
    assert lines[3].startswith("focal") and cell.startswith(f"{mean:+.3f}±") and cell.endswith("•") == same
    assert report.format_deltas(tasks[0]) == ""  # one seed: no differences to pair


def test_seeded_html_and_json(seeded, tmp_path):
    path = report.write_html([seeded], str(tmp_path / "r.html"), {"command": "c", "date": "d", "seconds": 1.0})
    html = open(path).read()
    assert "Differences from CE, paired by seed" in html and html.count('class="sd"') == 2 * 9
    assert "2 seeds (0-1)" in html and "the figures show seed 0" in html
    data = report.results_dict([seeded], {})
    run = data["tasks"][0]["runs"][1]
    assert data["tasks"][0]["seeds"] == [0, 1] and [p["seed"] for p in run["per_seed"]] == [0, 1]
    assert run["metrics"] == seeded.runs[1].metrics
    assert math.isclose(run["mean"]["ece"], np.mean([p["metrics"]["ece"] for p in run["per_seed"]]))
    assert set(run["paired_difference"]["ece"]) == {"mean", "sd", "same_sign"}


def test_rare_task_title_and_data_section(tmp_path):
    ds = load_builtin("digits-8-rare")
    task = wt.run_task(ds, split(ds, 0), wt.roster("binary", ["bce"]), wt.TrainConfig(epochs=1))
    title = report.format_table(task).splitlines()[0]
    assert title.startswith("digits-8-rare (binary, positive class '8' = 3.1% of training rows, 9.7% of test rows")
    assert "train/val/test 1004/360/360; seed 0)" in title
    html = open(report.write_html([task], str(tmp_path / "r.html"), {})).read()
    assert "31 of its 104 &#x27;8&#x27; rows kept at random" in html and "Why: on the plain digit tasks" in html
