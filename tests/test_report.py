"""`dadao report` and the grouped `dadao plot`: groups and labels of real run directories, the
plot flags, the self-contained HTML, the PDF's fonts and its reproducible bytes, and the one-line
mistakes (exit 2, nothing written)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from dadao import cli
from dadao.report import grouping
from dadao.report.build import read_groups

CONFIG = """\
[graph]
family = "cycle"
n = 8

[problem]
kind = "least_squares"
dim = 3
samples_per_node = 20
form = "quadratic"
reg = 2.0

[algorithm]
name = "dadao"

[run]
t_max = 80.0
log_every = 2.0
"""

#: (folder, --set overrides): dadao and dgd on 2 seeds, and dadao with uniform rates on 2 seeds
RUNS = [(f"{algo}-{kind}-s{seed}", [f"algorithm.name={algo}", f"run.seed={seed}"]
         + ([f"rates.kind={kind}", "rates.total=12.0"] if kind != "auto" else []))
        for algo, kind in (("dadao", "auto"), ("dgd", "auto"), ("dadao", "uniform"))
        for seed in (0, 1)]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    from dadao.runs import run_config

    top = tmp_path_factory.mktemp("report")
    cfg = top / "small.toml"
    cfg.write_text(CONFIG)
    for name, sets in RUNS:
        result = run_config(str(cfg), sets=sets, out=str(top / "runs" / name),
                            checkpoint_every=0)
        assert result.code == 0, name
    return top / "runs"


@pytest.fixture(scope="module")
def report(runs_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    html, pdf = out / "report.html", out / "report.pdf"
    assert cli.main(["report", str(runs_dir), "-o", str(html), "--pdf", str(pdf)]) == 0
    return html, pdf


def one_line_error(argv, capsys) -> str:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# --- groups and labels -----------------------------------------------------------------------

def test_groups_name_the_differing_keys_and_aggregate_the_seeds(runs_dir):
    groups, naming, seeds = read_groups([str(runs_dir)])
    assert naming == ["algorithm.name", "rates.kind", "rates.total"] and seeds == ["run.seed"]
    by_label = {g.label: g for g in groups}
    assert set(by_label) == {"dadao, auto rates", "dgd, auto rates",
                             "dadao, uniform rates, rates.total=12.0"}
    assert all(sorted(g.seeds) == [0, 1] for g in groups)


def test_one_group_keeps_the_run_label(runs_dir):
    runs = [grouping.read_run(str(runs_dir / f"dadao-auto-s{s}")) for s in (0, 1)]
    groups, naming, seeds = grouping.group_runs(runs)
    assert naming == [] and seeds == ["run.seed"]
    assert len(groups) == 1 and groups[0].label == "dadao, cycle n=8"


def test_label_short_forms_and_other_keys():
    assert grouping.label_of({"algorithm.name": "dadao", "rates.kind": "sdp"}, "") == \
        "dadao, sdp rates"
    assert grouping.label_of({"graph.n": 16, "problem.dim": 3}, "") == "n=16, problem.dim=3"


def test_median_and_band_on_a_common_grid(runs_dir):
    from dadao.report.aggregate import aggregate

    groups, _, _ = read_groups([str(runs_dir)])
    g = groups[0]
    time = aggregate([r.trace for r in g.runs], "time", "dist_to_opt", normalise=True)
    assert time.runs == 2 and not time.interpolated and time.median[0] == pytest.approx(1.0)
    assert all(time.low <= time.median) and all(time.median <= time.high)
    grads = aggregate([r.trace for r in g.runs], "gradients", "dist_to_opt")
    assert grads.interpolated  # the seeds' gradient counts differ


# --- dadao plot ------------------------------------------------------------------------------

def test_plot_flags_draw_a_figure(runs_dir, tmp_path, capsys):
    out = tmp_path / "f.png"
    argv = ["plot", *(str(p) for p in sorted(runs_dir.iterdir())), "-o", str(out), "--x",
            "time", "--normalise", "--logx", "--theory", "--metric", "suboptimality"]
    assert cli.main(argv) == 0
    stdout = capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "6 run(s), 3 group(s)" in stdout
    assert "declares no rate" in stdout  # dgd declares none: said, and left out
    assert cli.main(argv[:-2] + ["--x", "gradients"]) == 0
    assert "drawn only against x = time" in capsys.readouterr().out


def test_long_labels_go_below_the_panels_and_leave_them_their_size(runs_dir, tmp_path):
    """Groups that differ in many keys have long labels: the legend goes below the panels,
    wrapped, and no panel collapses (matplotlib warns when constrained layout gives up)."""
    import warnings

    from dadao.report import figures

    groups = read_groups([str(runs_dir)])[0]
    for g in groups:
        g.label = g.label + ", " + ", ".join(f"timing.key_{k}=value_{k}" for k in range(8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig, _ = figures.group_figure(groups)
        figures.save(fig, str(tmp_path / "long.png"))
    assert fig.legends and not any(ax.get_legend() for ax in fig.axes)
    width = min(ax.get_position().width for ax in fig.axes)
    assert width > 0.15   # each of the three panels keeps a fair share of the figure


@pytest.mark.parametrize("flag,value", [("--metric", "energy"), ("--x", "events")])
def test_plot_rejects_bad_values_in_one_line(runs_dir, tmp_path, capsys, flag, value):
    out = tmp_path / "f.png"
    line = one_line_error(["plot", str(runs_dir / "dadao-auto-s0"), "-o", str(out), flag,
                           value], capsys)
    assert line.startswith("dadao plot: error:") and flag in line
    assert not out.exists()


# --- dadao report: HTML ----------------------------------------------------------------------

def test_html_is_self_contained(report):
    text = report[0].read_text()
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower() and "<link" not in text.lower()
    srcs = re.findall(r"<img[^>]*\ssrc=\"([^\"]*)\"", text)
    assert len(srcs) == len(re.findall(r"<img\b", text)) == 4  # 3 x axes, 1 graph
    assert all(s.startswith("data:image/png;base64,") for s in srcs)


def test_html_holds_the_counts_table_and_the_bounds(report):
    text = report[0].read_text()
    for name in ("1e-4", "1e-6", "1e-8"):
        assert f"gradients to {name}" in text and f"communications to {name}" in text
    assert re.search(r"\d[\d.e+]* \[\d[\d.e+]*, \d[\d.e+]*\]", text)  # median [min, max]
    assert "Omega(sqrt(kappa) log(1/eps))" in text
    assert "Omega(sqrt(kappa chi) log(1/eps))" in text
    assert "Omega(chi sqrt(kappa) log(1/eps))" in text
    assert "Scaman" in text and "Kovalev" in text
    assert "25% to 75% quantiles" in text and "median" in text
    assert "dadao, uniform rates, rates.total=12.0" in text and "chi_1" in text


# --- dadao report: PDF -----------------------------------------------------------------------

def test_pdf_fonts_are_truetype(report):
    data = report[1].read_bytes()
    assert data.startswith(b"%PDF")
    assert b"/Subtype /Type3" not in data and b"/FontFile2" in data
    if shutil.which("pdffonts"):
        listing = subprocess.run(["pdffonts", str(report[1])], capture_output=True, text=True,
                                 check=True).stdout.splitlines()[2:]
        assert listing
        for line in listing:
            assert "TrueType" in line or "Type 1" in line, line


def test_two_pdf_renderings_are_byte_identical(report, runs_dir, tmp_path):
    again = tmp_path / "again.pdf"
    assert cli.main(["report", str(runs_dir), "-o", str(tmp_path / "r.html"), "--pdf",
                     str(again)]) == 0
    assert again.read_bytes() == report[1].read_bytes()


# --- mistakes --------------------------------------------------------------------------------

def test_report_mistakes_write_nothing(runs_dir, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "out.html").mkdir()
    cases = [
        (["report", str(tmp_path / "empty"), "-o", str(tmp_path / "r.html")],
         "no run directory"),
        (["report", str(runs_dir), "-o", str(tmp_path / "out.html")], "is a directory"),
        (["report", str(runs_dir), "-o", str(tmp_path / "r.html"), "--pdf",
          str(tmp_path / "r.png")], "--pdf"),
        (["report", str(runs_dir), "-o", str(tmp_path / "r.txt")], "-o"),
    ]
    for argv, expect in cases:
        line = one_line_error(argv, capsys)
        assert line.startswith("dadao report: error:") and expect in line, line
    assert sorted(os.listdir(tmp_path)) == ["empty", "out.html"]
