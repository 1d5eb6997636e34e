"""benchmarks/passes.py runs, ablates every pass of the level once, and every row computes the same model."""

from benchmarks import passes


def test_ablation_rows_name_every_pass_of_the_level_once():
    rows = passes.ablations(2)
    assert rows[0][0] == "O2"
    full = rows[0][1]
    for label, pipeline in rows[1:]:
        name = label[1:]
        assert name in [p.split("{")[0] for p in full] and name not in [p.split("{")[0] for p in pipeline]
        assert len(pipeline) < len(full)
    assert len({label for label, _ in rows}) == len(rows)


def test_benchmark_prints_a_table_per_model_with_equal_outputs(capsys):
    assert passes.main(["--models", "mlp", "mnist", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    blocks = [b for b in out.strip().split("\n\n") if b]
    assert [b.split()[0] for b in blocks] == ["mlp", "mnist"]
    for block in blocks:
        lines = block.splitlines()
        assert lines[1].startswith("O2") and lines[-1].startswith("O0")
        for line in lines[1:]:
            assert float(line.split()[-1]) < 1e-4  # max |diff| to O0
