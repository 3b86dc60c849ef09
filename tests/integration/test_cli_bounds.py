"""Out-of-bounds input on the command line (issue 14): one red ``error:`` line naming the
option, the value, the limit and the fix, exit code 2, and nothing simulated or written.

None of these runs reach a solve: every check happens before any work.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oncotwin.cli import _bounds
from oncotwin.cli.main import app

runner = CliRunner()


def _refused(args: list[str], match: str) -> str:
    import re

    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())  # rich wraps long lines
    assert text.startswith("error: "), text
    assert re.search(match, text), text
    assert "Traceback" not in result.output
    return text


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (
            ["--regimen", "pembrolizumab 200 mg IV q3w x99999999999999999999"],
            r"count: x99999999999999999999 doses is above the limit of x10000 per phase",
        ),
        (["--days", "1e12"], r"--days 1e\+12 is above the limit of 18262.5 days \(50 years\)"),
        (["--every", "0"], r"output interval --every 0.0; give a positive number of days"),
        (
            ["--every", "0.0001"],
            r"--every 0.0001 gives 7,300,001 output times over 730 days, above the limit of "
            r"100,000",
        ),
        (["--seed", "-1"], r"--seed -1: a seed is a whole number from 0 to 2\*\*63 - 1"),
        (["--seed", str(2**63)], r"--seed 9223372036854775808: a seed is a whole number"),
        (["--rtol", "0"], r"--rtol 0: a tolerance is a positive finite number"),
        (["--rtol", "nan"], r"--rtol nan: a tolerance is a positive finite number"),
        (["--rtol", "1e-20"], r"--rtol 1e-20 is below the limit of 1e-14"),
        (
            ["--patients", "100000000000"],
            r"--patients 100,000,000,000: the output would need about .* per patient\) but "
            r"only .* is free where '.*' goes; give fewer patients or another --out",
        ),
    ],
)
def test_simulate_refuses_out_of_bounds_options(tmp_path, extra, match):
    out = tmp_path / "sim" / "x.parquet"
    _refused(["simulate", *extra, "--out", str(out)], match)
    assert not out.exists()


def test_simulate_refuses_a_run_that_would_not_fit_the_disk(tmp_path, monkeypatch):
    usage = type("Usage", (), {"free": 1_000_000, "total": 1, "used": 0})
    monkeypatch.setattr(_bounds.shutil, "disk_usage", lambda path: usage)
    _refused(
        ["simulate", "--patients", "1000", "--out", str(tmp_path / "x.parquet")],
        r"--patients 1,000: the output would need about 9.33 MB \(9.33 kB per patient\) but "
        r"only 1 MB is free",
    )


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--seed", "-3"], r"--seed -3: a seed is a whole number from 0 to 2\*\*63 - 1"),
        (
            ["--patients", "100000000000"],
            r"--patients 100,000,000,000 is above the limit of 10,000,000 per run",
        ),
        (["--chunk-size", "10000000"], r"--chunk-size 10,000,000 is above the limit of 50,000"),
    ],
)
def test_trial_run_refuses_out_of_bounds_options(tmp_path, extra, match):
    out = tmp_path / "run"
    _refused(["trial", "run", "--example", "checkmate017", *extra, "--out", str(out)], match)
    assert not out.exists()


def test_trial_run_refuses_a_store_that_would_not_fit_the_disk(tmp_path, monkeypatch):
    usage = type("Usage", (), {"free": 50_000_000, "total": 1, "used": 0})
    monkeypatch.setattr(_bounds.shutil, "disk_usage", lambda path: usage)
    out = tmp_path / "run"
    _refused(
        ["trial", "run", "--example", "checkmate017", "--patients", "100000", "--out", str(out)],
        r"--patients 100,000: the output would need about 555 MB \(5.55 kB per patient\) but only "
        r"50 MB is free where '.*run' goes",
    )
    assert not out.exists()


def test_trial_run_refuses_a_misspelt_eligibility_key(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(
        '[trial]\nname="x"\ncancer="melanoma"\nseed=1\npatients=10\nfollow_up_months=12\n'
        '[population]\neligibility={pdl1_tps_minn=50}\n[[arm]]\nname="a"\n'
        'regimen="pembrolizumab 200 mg IV q3w x4"\n'
    )
    _refused(
        ["trial", "run", str(spec), "--out", str(tmp_path / "run")],
        r"bad.toml:8: \[population\] eligibility pdl1_tps_minn = 50: unknown eligibility key "
        r"'pdl1_tps_minn'; did you mean 'pdl1_tps_min'\?",
    )


def test_trial_run_refuses_a_spec_that_is_not_utf8(tmp_path):
    spec = tmp_path / "latin1.toml"
    spec.write_bytes(b'[trial]\nname = "caf\xe9"\n')
    text = _refused(
        ["trial", "run", str(spec), "--out", str(tmp_path / "run")],
        r"latin1.toml: not UTF-8 text \(byte 0xe9 at offset 19\); a spec is a UTF-8 TOML file",
    )
    assert text.count("error:") == 1


def test_trial_run_refuses_huge_follow_up_in_a_spec(tmp_path):
    spec = tmp_path / "long.toml"
    spec.write_text(
        '[trial]\nname="x"\ncancer="melanoma"\nseed=1\npatients=10\nfollow_up_months=1e12\n'
        '[[arm]]\nname="a"\nregimen="pembrolizumab 200 mg IV q3w x4"\n'
    )
    _refused(
        ["trial", "run", str(spec), "--out", str(tmp_path / "run")],
        r"long.toml:6: \[trial\] follow_up_months = 1000000000000.0: above the limit of 600 "
        r"months \(50 years\)",
    )


def test_huge_regimen_count_in_a_real_process_stays_small():
    """The issue's first case as a user types it, in a process with 1.5 GiB of address space:
    it used to grow to 18 GB; now it ends at once with one red line and exit 2."""
    code = (
        "import resource, sys\n"
        "limit = 1536 * 2**20\n"
        "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
        "from oncotwin.cli.main import app\n"
        "sys.argv = ['oncotwin', 'simulate', '--regimen', "
        "'pembrolizumab 200 mg IV q3w x99999999999999999999', '--out', sys.argv[1]]\n"
        "app()\n"
    )
    out = Path("unused-never-written") / "x.parquet"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith("error: bad regimen: count: x99999999999999999999 doses")
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) <= 12  # the error, the caret, a few examples
