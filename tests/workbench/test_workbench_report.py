"""The report: tables, the best mark and the conclusion, JSON/CSV, the HTML template, and a real browser render."""

import json
import math
import re
import shutil
import subprocess

import numpy as np
import pytest

from losskit.workbench import api, plots, report
from losskit.workbench import train as wt
from losskit.workbench.data import load_builtin


def _result(names_losses, epochs=2, seeds=1):
    cfg = wt.TrainConfig(epochs=epochs, seeds=seeds, workers=1)
    plans = [api.check(api.plan_dataset(load_builtin(n), cfg, losses), cfg) for n, losses in names_losses]
    return api.run(plans, cfg, meta={"command": "losskit compare --test"})


@pytest.fixture(scope="module")
def result():
    return _result([("breast-cancer", "bce,weighted-bce,smooth-bce"), ("wine", "ce,focal")])


@pytest.fixture(scope="module")
def seeded():
    return _result([("wine", "ce,focal,smooth-ce")], epochs=2, seeds=3)


@pytest.fixture(scope="module")
def html_path(result, tmp_path_factory):
    return tmp_path_factory.mktemp("html") / "report.html"


def test_report_is_self_contained_and_from_the_template(result, html_path):
    report.write_html(result, str(html_path))
    text = html_path.read_text()
    assert text.startswith("<!doctype html>")
    srcs = re.findall(r'src="([^"]*)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in text and "<script" not in text and "url(" not in text
    assert text.count('<table class="metrics">') >= 4  # results and per-class, per task
    assert "losskit compare --test" in text and "Conclusion." in text and "What the numbers do not show." in text
    # every figure of each task is there: curves, ROC/PR, confusion, reliability, gradient (+ probabilities: binary)
    assert len(srcs) == sum(len(plots.figures(t)) for t in result.tasks) == 11
    from importlib.resources import files

    assert files("losskit.workbench").joinpath("templates/report.html").is_file()  # package data


def test_text_table(result):
    text = report.format_table(result.tasks[0])
    lines = text.splitlines()
    assert lines[0].startswith("breast-cancer (binary, positive class 'malignant'")
    assert lines[1].split()[:3] == ["loss", "acc", "macro-F1"] and "F1@thr*" in lines[1] and "epoch" in lines[1]
    assert len(lines) == 3 + 3
    assert "*" not in "".join(lines[3:])  # one seed: nothing is marked best


def test_text_table_with_seeds_shows_mean_and_sd(seeded):
    t = seeded.tasks[0]
    lines = report.format_table(t).splitlines()
    assert lines[0].endswith("mean and sd over 3 seeds (0-2))")
    assert len(lines) == 3 + 2 * 3  # a mean line and an sd line per loss
    (acc_ce, sd_ce), _, _ = wt.summary(t, "accuracy")
    assert lines[3].split()[0] == "CE" and lines[3].split()[1].rstrip("*") == f"{acc_ce:.3f}"
    assert lines[4].startswith(" ") and lines[4].split()[0] == "±" + f"{sd_ce:.3f}"[1:]


def test_paired_difference_table(seeded, result):
    t = seeded.tasks[0]
    lines = report.format_deltas(t).splitlines()
    assert lines[0].startswith("difference from CE, paired by seed (mean±sd over 3 seeds")
    assert lines[1].split() == ["loss", "acc", "macro-F1", "PR-AUC", "log-loss", "ECE"]
    mean, sd, same, lo, hi, n = wt.paired_differences(t, "log_loss")[1]
    cell = lines[3].split()[4]
    assert (
        lines[3].startswith("focal")
        and cell.startswith(f"{mean:+.3f}±")
        and cell.endswith("•") == wt.significant((mean, sd, same, lo, hi, n))
    )
    assert report.format_deltas(result.tasks[0]) == ""  # one seed: no differences to pair


def _fake(values, better="high"):
    seed_runs = [
        [
            wt.RunResult(f"l{i}", f"l{i}", "x", "", "", "", s, {}, 1, 1, None, None, 0.0, metrics={"accuracy": v})
            for i, v in enumerate(row)
        ]
        for s, row in enumerate(values)
    ]
    return wt.TaskResult("t", "binary", [], wt.TrainConfig(), None, {}, [], list(range(len(values))), seed_runs)


def test_best_mark_needs_a_difference_that_holds():
    # loss 2 has the best mean in every case; it is marked only when its paired difference holds
    consistent = _fake([[0.80, 0.81, 0.85], [0.70, 0.72, 0.74], [0.75, 0.74, 0.78], [0.90, 0.90, 0.93]])
    assert report.best(consistent, "accuracy", "high") == {2}
    noisy = _fake([[0.80, 0.81, 0.95], [0.70, 0.72, 0.60], [0.75, 0.74, 0.85], [0.90, 0.90, 0.88]])
    assert wt.summary(noisy, "accuracy")[2][0] > wt.summary(noisy, "accuracy")[0][0]
    assert report.best(noisy, "accuracy", "high") == set()  # a best mean within the seeds' noise
    # the baseline is marked when every other loss is worse in every seed
    base = _fake([[0.9, 0.8, 0.85], [0.8, 0.7, 0.75], [0.85, 0.80, 0.84]])
    assert report.best(base, "accuracy", "high") == {0}
    assert report.best(consistent, "accuracy", None) == set()
    assert report.best(_fake([[0.5, 0.9], [0.5, 0.9]]), "accuracy", "high") == set()  # two seeds: never


def test_conclusion_states_what_holds_and_what_does_not(seeded, result):
    c = report.conclusion(seeded.tasks[0])
    assert c["shows"] and c["does_not"]
    text = " ".join(c["does_not"])
    assert "the test split holds 36 samples" in text and "same model, learning rate" in text
    comparisons = 5 * 2
    assert f"Of the {comparisons} paired comparisons, about {comparisons * 2 / 8:.1f} would keep their sign" in text
    found = report.findings(seeded.tasks[0])
    if found:
        assert all(t.runs[i].display in " ".join(c["shows"]) for t in [seeded.tasks[0]] for i, _, _, _ in found)
    else:
        assert c["shows"][0].startswith("No loss differs from CE consistently")
    one = report.conclusion(result.tasks[0])
    assert one["shows"][0].startswith("One seed only") and "Nothing is concluded" in one["shows"][0]


def test_noise_note_counts_the_positives_in_the_test_split(result):
    note = report.noise(result.tasks[0])
    g = result.tasks[0].groups[0]
    pos = int(g.y_test.sum())
    assert f"the test split holds {len(g.y_test)} samples of which {pos} are 'malignant'" in note
    assert f"1/{pos} = {1 / pos:.3f} of recall" in note


def test_json_and_csv(seeded, tmp_path):
    paths = seeded.write(str(tmp_path / "o"), html=False)
    data = json.loads(open(paths["json"]).read())
    t = data["tasks"][0]
    run = t["runs"][1]
    assert t["seeds"] == [0, 1, 2] and [p["seed"] for p in run["per_seed"]] == [0, 1, 2]
    assert run["per_seed"][0]["metrics"] == json.loads(json.dumps(seeded.tasks[0].runs[1].metrics))
    assert math.isclose(run["mean"]["ece"], np.mean([p["metrics"]["ece"] for p in run["per_seed"]]))
    assert set(run["paired_difference"]["ece"]) == {"mean", "sd", "same_sign", "ci95", "holds"}
    assert t["conclusion"]["shows"] and "best_epoch" in run["per_seed"][0]
    lines = open(paths["csv"]).read().splitlines()
    assert lines[0] == "task,kind,loss,display,seed,metric,value"
    assert len(lines) - 1 == 3 * 3 * (len(seeded.tasks[0].runs[0].metrics) + 1)
    assert not (tmp_path / "o" / "report.html").exists()


def test_unwritable_out_is_refused_before_anything(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OSError, match="exists and is not a directory"):
        report.check_writable(str(f))
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        import os

        if os.access(str(ro), os.W_OK):  # root ignores permissions: nothing to test here
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(OSError, match="cannot write there"):
            report.check_writable(str(ro / "sub"))
    finally:
        ro.chmod(0o700)


def test_rare_task_title_and_data_section(tmp_path):
    r = _result([("digits-8-rare", "bce")], epochs=1)
    title = report.format_table(r.tasks[0]).splitlines()[0]
    assert title.startswith("digits-8-rare (binary, positive class '8' = 3.1% of training rows, 9.7% of test rows")
    assert "train/val/test 1004/360/360; seed 0)" in title
    html = open(r.write(str(tmp_path))["html"]).read()
    assert "31 of its 104 &#39;8&#39; rows kept at random" in html and "Why: on the plain digit tasks" in html
    assert "standardised the 64 numeric features" in html


def test_loss_curves_follow_the_configured_losses(result):
    import torch

    z = torch.linspace(-3, 3, 7)
    curves = plots._curves(result.tasks[0], z)
    bce, weighted = curves[0][1], curves[1][1]  # y = 1
    pos_weight = result.tasks[0].resolved[1].options["pos_weight"].item()
    np.testing.assert_allclose(weighted[0], pos_weight * bce[0], rtol=1e-5)
    np.testing.assert_allclose(bce[1], torch.sigmoid(z).numpy() - 1, rtol=1e-5, atol=1e-7)  # dBCE/dz = p - y


def _screenshot(html_path, png, height):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        pytest.skip("chromium is not installed")
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--window-size=1200,{height}",
        f"--screenshot={png}",
        f"file://{html_path}",
    ]
    subprocess.run(cmd, capture_output=True, timeout=120)
    assert png.exists(), "chromium wrote no screenshot"


def test_report_renders_in_headless_chromium(result, html_path, tmp_path):
    from PIL import Image

    if not html_path.exists():
        report.write_html(result, str(html_path))
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
