"""benchmarks/bench_cpu.py runs end to end on tiny inputs and writes its table (no timing assertions)."""

import importlib.util
import json
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_cpu.py"


def _load():
    spec = importlib.util.spec_from_file_location("losskit_bench_cpu", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_cpu_runs_and_writes_table(tmp_path, capsys):
    bench = _load()
    threads = torch.get_num_threads()
    try:
        result = bench.main(
            ["--tiny", "--repeats", "1", "--warmup", "0", "--out", str(tmp_path), "--tag", "smoke", "--no-malloc-tune"]
        )
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    names = {r["name"] for r in result["results"]}
    assert {"mse_loss", "huber_loss", "triplet_margin_loss"} <= names
    for r in result["results"]:
        assert r["ours_ms"] > 0 and r["torch_ms"] > 0 and r["ratio"] > 0
        assert r["name"] in printed
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and files[0].startswith("cpu-smoke-") and files[0].endswith(".json")
    data = json.loads((tmp_path / files[0]).read_text())
    assert data["meta"]["device"]["torch"] == torch.__version__ and data["results"]
    md = (tmp_path / files[1]).read_text()
    assert "| loss | size | losskit ms | torch ms | ratio |" in md and "paired ratio" in md and "mse_loss" in md
    # peak memory per twin and dtype, and the peers' rows (MONAI is installed with the test extra)
    assert {(m["name"], m["dtype"]) for m in data["memory"]} >= {("mse_loss", "float32"), ("mse_loss", "bfloat16")}
    assert all(m["ours_mib"] is None or m["ours_mib"] >= 0 for m in data["memory"])
    assert {"dice_loss vs MONAI DiceLoss", "sigmoid_focal_loss vs torchvision"} <= {r["name"] for r in data["peers"]}
    assert "## Peak memory" in md and "## Against the peers" in md
    # every twin the bench knows is either measured or reported as skipped
    reported = names | {n for ns in data["skipped"].values() for n in ns}
    assert set(bench.SIZES) <= reported | {r["torch_twin"] for r in result["results"]}


def test_bench_nll_overhead_runs_every_variant(capsys):
    path = BENCH.with_name("bench_nll_overhead.py")
    spec = importlib.util.spec_from_file_location("losskit_bench_nll_overhead", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    threads = torch.get_num_threads()
    try:
        medians = mod.main(["--size", "8x5", "--repeats", "2", "--threads", "1"])
    finally:
        torch.set_num_threads(threads)
    assert set(medians) == {
        "torch",
        "torch + one read",
        "losskit, read every call",
        "losskit checks off",
        "losskit",
    }
    assert all(v > 0 for v in medians.values())
    assert "losskit checks off" in capsys.readouterr().out
