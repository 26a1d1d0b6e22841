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
from helpers import SMALL_CONFIG

#: the small 8-cycle of the helpers, as a quadratic of kappa set by reg, 80 time units
CONFIG = (SMALL_CONFIG.replace("samples_per_node = 20\n",
                               'samples_per_node = 20\nform = "quadratic"\nreg = 2.0\n')
          .replace("t_max = 300.0\nlog_every = 5.0", "t_max = 80.0\nlog_every = 2.0")
          + '[algorithm]\nname = "dadao"\n')

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
                            checkpoint_every=0, figures=False)
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


# --- the graph's edges, as wide as their rates ----------------------------------------------

def test_edge_widths_follow_the_rates_of_the_run_directory(runs_dir, tmp_path):
    """A run of explicit, unequal rates keeps them in rates.csv; its drawing's edge widths are
    MAX_WIDTH x rate / the largest rate, edge by edge, with the scale in its legend and caption.
    Runs of equal rates write no rates.csv and share one drawing of uniform widths."""
    from dadao import graphs
    from dadao.experiment import build_graph
    from dadao.rates import load_rates_csv
    from dadao.report.graph_figure import MAX_WIDTH, graph_figures
    from dadao.runs import run_config

    edges = graphs.edge_array(graphs.make_graph("cycle", 8))
    given = {(int(u), int(v)): 10.0 * (k + 1) for k, (u, v) in enumerate(edges)}
    (tmp_path / "given.csv").write_text("u,v,rate\n" + "".join(
        f"{u},{v},{r!r}\n" for (u, v), r in given.items()))
    (tmp_path / "c.toml").write_text(CONFIG)
    out = tmp_path / "explicit"
    result = run_config(str(tmp_path / "c.toml"), out=str(out), figures=False, sets=[
        "rates.kind=explicit", f'rates.path="{tmp_path / "given.csv"}"', "run.t_max=4.0"])
    assert result.code == 0
    assert list(load_rates_csv(out / "rates.csv", edges)) == [given[tuple(e)] for e in edges]
    assert not any((runs_dir / name / "rates.csv").exists() for name, _ in RUNS)

    run = grouping.read_run(str(out))
    [(fig, caption)] = graph_figures([("explicit rates", run)])
    [drawn] = [c for c in fig.axes[0].collections if c.get_gid() == "rates"]
    G = build_graph({"family": "cycle", "n": 8})
    top = max(given.values())
    # the segments are drawn in the canonical edge order (graphs.edge_array)
    expected = [MAX_WIDTH * given[(int(u), int(v))] / top for u, v in graphs.edge_array(G)]
    assert list(drawn.get_linewidths()) == pytest.approx(expected, rel=1e-12)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["rate 80", "rate 40",
                                                                  "rate 20"]
    assert f"{MAX_WIDTH:g} pt = 80, the largest" in caption

    uniform = [(g.label, r) for g in read_groups([str(runs_dir)])[0] for r in g.runs]
    [(fig, caption)] = graph_figures(uniform)
    assert not [c for c in fig.axes[0].collections if c.get_gid() == "rates"]
    assert "widths uniform" in caption and "dgd, auto rates: no per-edge gossip rates" in caption


# --- runs of the timing engine ---------------------------------------------------------------

@pytest.fixture(scope="module")
def timed_dir(tmp_path_factory):
    """Two seeds of a tiny run of the timing engine (trace.csv has wall_time)."""
    from dadao.runs import run_config

    top = tmp_path_factory.mktemp("timed")
    (top / "c.toml").write_text(CONFIG)
    for seed in (0, 1):
        result = run_config(str(top / "c.toml"), out=str(top / "runs" / f"timing-s{seed}"),
                            figures=False, sets=['run.engine="timing"', "run.t_max=20.0",
                                                 f"run.seed={seed}"])
        assert result.code == 0
    return top / "runs"


def _panels(dirs) -> list[str]:
    from dadao.report.build import build

    sections, _ = build([str(d) for d in dirs])
    [convergence] = [s for s in sections if s.title == "Convergence"]
    return [item.text for item in convergence.items if item.kind == "figure"]


def test_the_report_has_a_wall_time_panel_only_for_runs_of_the_timing_engine(
        runs_dir, timed_dir, tmp_path, capsys):
    from dadao.report.figures import AXES

    wall = f"against {AXES['wall_time']}"
    timed = _panels([timed_dir])
    assert len(timed) == 4 and wall in timed[-1]
    assert not any(wall in caption for caption in _panels([runs_dir]))
    # with a run of another engine: the panel holds the timing engine's group, the other is
    # named as left out
    mixed = _panels([runs_dir / "dadao-auto-s0", timed_dir])
    assert len(mixed) == 4 and wall in mixed[-1]
    assert mixed[-1].endswith("x = wall_time: left out, no wall_time column in trace.csv (runs "
                              "of the timing engine have one): inprocess engine, "
                              "run.t_max=80.0)")

    out = tmp_path / "wall.png"
    assert cli.main(["plot", str(timed_dir / "timing-s0"), str(timed_dir / "timing-s1"),
                     "--x", "wall_time", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "2 run(s), 1 group(s)" in capsys.readouterr().out


# --- a run's own figures ---------------------------------------------------------------------

def test_a_run_figure_has_text_tick_labels_and_truetype_fonts(runs_dir, tmp_path):
    """write_run_figures, the cheap figure of every run: log ticks as text with superscript
    exponents (no mathtext to parse), the panels of default_axes, a PDF of TrueType fonts."""
    from dadao import rundir
    from dadao.report import figures

    assert [figures._UnicodePowers()(v) for v in (1e-4, 1.0, 1e6)] == [
        "10\u207b\u2074", "10\u2070", "10\u2076"]
    assert figures._UnicodePowers(labelOnlyBase=False)(2e-5) == "2\u00d710\u207b\u2075"
    trace, meta = rundir.read_run(str(runs_dir / "dadao-auto-s0"))
    fig = figures.run_figure(trace, meta)
    fig.canvas.draw()
    labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    power = "(\\d\u00d7)?10\u207b?[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+"  # 2x10^-5
    assert any(labels) and all(not t or re.fullmatch(power, t) for t in labels), labels
    assert [ax.get_xlabel() for ax in fig.axes] == [figures.AXES[x]
                                                    for x in figures.PLAIN_AXES]
    figures.write_run_figures(trace, meta, str(tmp_path / "convergence"))
    assert (tmp_path / "convergence.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = (tmp_path / "convergence.pdf").read_bytes()
    assert b"/Subtype /Type3" not in pdf and b"/FontFile2" in pdf
