"""``bgp run``'s log options: the choices are listed and checked before anything starts."""

from __future__ import annotations

from typer.testing import CliRunner

from bgpctl.cli.app import app


def test_log_level_choices_in_help_and_bad_value_rejected() -> None:
    runner = CliRunner()
    help_text = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert "debug|info|warning|error" in help_text
    assert "json|console" in help_text
    result = runner.invoke(app, ["run", "--local-endpoint", "n", "--log-level", "verbose"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "'verbose' is not one of" in result.output
