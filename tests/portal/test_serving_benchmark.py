"""The serving benchmark's memory verdict: caches that fill once are not a leak."""

from portal.evaluation.benchmarks.serving import rss_growth_second_half, rss_plot


def test_memory_that_levels_off_reads_flat_and_a_climb_does_not():
    filling = [[0, 1800], [60, 1900], [120, 1950], [300, 1960], [480, 1961], [600, 1962]]
    climbing = [[t, 1800 + t] for t in range(0, 601, 60)]
    assert rss_growth_second_half(filling) == 2.0
    assert rss_growth_second_half(climbing) == 300.0
    assert rss_growth_second_half([[0, 1], [10, 2]]) is None  # too short to say


def test_memory_plot_is_written_beside_the_report(tmp_path):
    report = {
        "users": 50,
        "seconds": 600,
        "answers": 120,
        "errors_5xx": 0,
        "rss_mb_series": [[0, 1800.0], [10, 1850.5], [20, 1851.0], [30, 1851.2]],
    }
    path = rss_plot(report, tmp_path / "serving.rss.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
