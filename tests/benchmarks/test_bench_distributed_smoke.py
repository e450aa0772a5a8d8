"""benchmarks/bench_distributed.py runs end to end on tiny inputs (world sizes 1 and 2, gloo on
127.0.0.1) and writes its table (no memory or timing assertions: those numbers live in benchmarks/)."""

import importlib
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_distributed.py"


def test_bench_distributed_runs_and_writes_table(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH.parent))  # importable by name: the spawned ranks import it again
    bench = importlib.import_module("bench_distributed")
    result = bench.main(
        [
            "--worlds",
            "1",
            "2",
            "--tokens",
            "32",
            "--hidden",
            "8",
            "--classes",
            "64",
            "--chunk",
            "8",
            "--out",
            str(tmp_path),
            "--tag",
            "smoke",
            "--timeout",
            "240",
        ]
    )
    rows = {(r["name"], r["world"]) for r in result["results"]}
    assert rows == {
        ("vocab_parallel_linear_cross_entropy", 1),
        ("vocab_parallel_linear_cross_entropy", 2),
        ("unfused cross_entropy(linear(x, W))", 1),
        ("linear_cross_entropy (one process)", 1),
    }
    for r in result["results"]:
        assert r["peak_mib"] > 0 and r["classes_per_rank"] == (64 if r["world"] == 1 else 32)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and files[0].startswith("distributed-smoke-") and files[0].endswith(".json")
    assert json.loads((tmp_path / files[0]).read_text())["config"]["classes"] == 64
    md = (tmp_path / files[1]).read_text()
    assert "| function | world size | classes per rank | peak MiB per rank |" in md
    assert "vocab_parallel_linear_cross_entropy | 2 | 32 |" in md
    assert "world 2: done" in capsys.readouterr().out
