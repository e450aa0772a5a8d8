"""benchmarks/bench_gpu.py: its CPU-side logic (floors, ratios, table, outputs) with a fake timer."""

import importlib.util
import json
import os
import sys

import pytest

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "bench_gpu.py")


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", _PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_gpu"] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop("bench_gpu", None)


def test_floor_arithmetic(bench):
    bw = bench.copy_bandwidth(copy_ms=2**30 * 2 / 3.02e12 * 1e3, nbytes=2**30)  # the anchors' 3.02 TB/s
    assert bw == pytest.approx(3.02e12)
    # CE bf16 8192 x 128256: read logits + write grad = 4 bytes/element -> 1.39 ms (anchors.md)
    assert bench.floor_ms_from_bytes(8192 * 128256 * 4, bw) == pytest.approx(1.39, abs=0.01)
    # sigmoid focal bf16 2e6 x 80: x, t, grad -> 0.32 ms
    assert bench.floor_ms_from_bytes(3 * 2_000_000 * 80 * 2, bw) == pytest.approx(0.32, abs=0.01)
    assert bench.x_floor(4.44, 1.39) == pytest.approx(3.19, abs=0.01)
    assert bench.x_floor(None, 1.0) is None
    with pytest.raises(ValueError, match="bandwidth"):
        bench.floor_ms_from_bytes(1, 0)
    case = bench.Case("lce", "linear+CE", gemm_shape=(8, 4, 16))
    assert bench.case_floor_ms(case, bw, 10.9) == pytest.approx(32.7)
    with pytest.raises(ValueError, match="GEMM"):
        bench.case_floor_ms(case, bw, None)


def test_run_cases_and_outputs(bench, tmp_path):
    def boom():
        raise RuntimeError("kernel exploded")

    def missing():
        raise ImportError("No module named 'liger_kernel'")

    cases = [
        bench.Case(
            "ce",
            "CE tiny",
            floor_bytes=4e9,
            impls={"fast": lambda: "fast", "slow": lambda: "slow", "peer": missing, "bad": lambda: boom},
        ),
        bench.Case("lce", "LCE tiny", gemm_shape=(2, 2, 2), impls={"fast": lambda: "fast"}),
    ]
    times = {"fast": 2.0, "slow": 8.0}

    def timer(step):
        if step is boom:
            step()
        return times[step]

    results, floors = bench.run_cases(
        cases, timer, lambda step: 0.0 if step is boom else 12.0, bandwidth=4e12, gemm_ms={"lce": 1.0}
    )
    by = {(r.case, r.impl): r for r in results}
    assert floors == {"CE tiny": pytest.approx(1.0), "LCE tiny": pytest.approx(3.0)}
    assert by["CE tiny", "fast"].x_floor == pytest.approx(2.0)
    assert by["CE tiny", "slow"].x_floor == pytest.approx(8.0) and by["CE tiny", "slow"].extra_mb == 12.0
    assert by["CE tiny", "peer"].ms is None and by["CE tiny", "peer"].note.startswith("skipped")
    assert "kernel exploded" in by["CE tiny", "bad"].note
    assert by["LCE tiny", "fast"].x_floor == pytest.approx(2.0 / 3.0)

    meta = {"device": "Fake GPU", "date": "2026-01-01", "torch": "x", "triton": "y", "bandwidth_tbs": 4.0}
    jpath, mpath = bench.write_outputs(str(tmp_path), results, floors, meta)
    data = json.load(open(jpath))
    assert data["meta"]["device"] == "Fake GPU" and len(data["results"]) == 5
    md = open(mpath).read()
    assert "| CE tiny (floor 1 ms) | fast | 2 | 12 | 2.00 |" in md
    assert "|  | slow | 8 | 12 | 8.00 |" in md
    assert "peer (skipped" in md and md.count("\n| LCE tiny") == 1


def test_main_without_cuda_exits_cleanly(bench, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: this would run the benchmark")
    assert bench.main(["--out", "unused"]) == 2
    assert "needs a CUDA device" in capsys.readouterr().err


def test_a_builder_that_fails_is_reported_not_fatal(bench):
    """A peer whose import or set-up raises something other than ImportError (a Triton API mismatch,
    an out-of-memory while making its inputs) is one failed row, not the end of the run."""

    def broken():
        raise RuntimeError("CUDA out of memory")

    cases = [bench.Case("ce", "CE tiny", floor_bytes=4e9, impls={"peer": broken, "fast": lambda: "fast"})]
    results, _ = bench.run_cases(cases, lambda step: 2.0, lambda step: 1.0, bandwidth=4e12)
    by = {r.impl: r for r in results}
    assert by["peer"].ms is None and "out of memory" in by["peer"].note and by["peer"].note.startswith("failed")
    assert by["fast"].ms == 2.0


def test_builders_on_cpu_and_static_compile(bench, monkeypatch):
    """The case builders run (tiny batch, CPU tensors): the eager steps give finite gradients, and every
    torch.compile baseline is specialised to its shapes (dynamic=False), so that the second shape of a
    case family is not compiled as a dynamic-shape graph."""
    import torch

    compiled = []
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: compiled.append(kw) or fn)
    cases = bench.build_cases(scale=1e-4, which=("ce", "focal"), device="cpu")
    assert [c.key for c in cases] == ["ce128256", "ce256000", "ce1000", "focal_bf16", "focal_fp32"]
    for case in cases:
        for name, build in case.impls.items():
            if name.startswith(("torch eager", "torchvision eager", "torch.compile")):
                grads = build()()
                assert all(torch.isfinite(g.float()).all() for g in grads), (case.key, name)
    assert len(compiled) == 5 and all(kw.get("dynamic") is False for kw in compiled)


def test_peers_folder_is_appended_to_sys_path(bench, monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert bench.main(["--peers", str(tmp_path), "--out", "unused"]) == 2
    assert sys.path[-1] == str(tmp_path)
