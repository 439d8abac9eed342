"""duroxide.toml, DUROXIDE_* variables and flags, DUROXIDE_LOG, and finding the app's Registry."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from duroxide_cli.cli.app_loader import AppImportError, load_app
from duroxide_cli.cli.config import DEFAULT_STORE, load_settings
from duroxide_cli.cli.logging_setup import TRACE, configure_logging, parse_log_spec, reset_logging
from duroxide_cli.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- settings --------------------------------------------------------------------------------------------


def test_toml_is_found_in_a_parent_directory_and_paths_are_relative_to_it(tmp_path: Path):
    write(tmp_path / "duroxide.toml", '[app]\nmodule = "src/app.py"\n[store]\nurl = "sqlite:///data/x.db"\n')
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    settings = load_settings(cwd=nested, environ={})
    assert settings.config_path == tmp_path / "duroxide.toml"
    assert settings.app == "src/app.py" and settings.app_base_dir == tmp_path
    assert settings.store_url == "sqlite:///data/x.db" and settings.store_base_dir == tmp_path


def test_environment_overrides_toml_and_flags_override_environment(tmp_path: Path):
    write(tmp_path / "duroxide.toml", '[app]\nmodule = "a.py"\n[store]\nurl = "sqlite:///a.db"\n[runtime]\nactivity_concurrency = 3\n')
    environ = {"DUROXIDE_APP": "b.py", "DUROXIDE_STORE": "sqlite:///b.db", "DUROXIDE_ACTIVITY_CONCURRENCY": "5"}
    settings = load_settings(cwd=tmp_path, environ=environ)
    assert (settings.app, settings.store_url) == ("b.py", "sqlite:///b.db")
    assert settings.store_base_dir is None  # relative to the working directory now
    assert settings.runtime_options().activity_concurrency == 5
    flagged = load_settings(app="c.py", store="sqlite:///c.db", cwd=tmp_path, environ=environ)
    assert (flagged.app, flagged.store_url) == ("c.py", "sqlite:///c.db")


def test_without_any_configuration_the_store_is_the_default_sqlite_file(tmp_path: Path):
    settings = load_settings(cwd=tmp_path, environ={})
    assert settings.app is None and settings.config_path is None
    assert settings.store_url == DEFAULT_STORE == "sqlite:///.duroxide/duroxide.db"


def test_every_runtime_option_is_accepted_in_toml(tmp_path: Path):
    write(
        tmp_path / "duroxide.toml",
        "[runtime]\norchestration_concurrency = 2\nactivity_concurrency = 4\npoll_interval_ms = 10\n"
        "orchestrator_lock_timeout_ms = 5000\nworker_lock_timeout_ms = 6000\nmax_delivery_attempts = 3\n"
        'turn_timeout_ms = 2000\nworker_id = "w1"\ncache_size = 0\n',
    )
    options = load_settings(cwd=tmp_path, environ={}).runtime_options()
    assert (options.orchestration_concurrency, options.worker_id, options.cache_size) == (2, "w1", 0)


@pytest.mark.parametrize(
    "toml, fragment",
    [
        ("[runtime]\nactivity_concurency = 4\n", "unknown key activity_concurency in [runtime]"),
        ("[databse]\nurl = 'x'\n", "unknown section [databse]"),
        ("[runtime]\nactivity_concurrency = 0\n", "activity_concurrency must be a positive int"),
        ("[app\nmodule = 'x'\n", "is not valid TOML"),
        ("[store]\nurl = 5\n", "[store] url must be a non-empty string"),
    ],
)
def test_a_bad_toml_is_a_config_error_that_says_what_is_wrong(tmp_path: Path, toml: str, fragment: str):
    write(tmp_path / "duroxide.toml", toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(cwd=tmp_path, environ={})
    assert fragment in str(caught.value)


def test_a_runtime_variable_that_is_not_a_number_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="DUROXIDE_ACTIVITY_CONCURRENCY must be an integer"):
        load_settings(cwd=tmp_path, environ={"DUROXIDE_ACTIVITY_CONCURRENCY": "many"})


# -- DUROXIDE_LOG ------------------------------------------------------------------------------------------


def test_log_spec_levels_and_per_logger_directives():
    spec = parse_log_spec("warn,duroxide.orchestration=debug,activity=trace,myapp.billing=info")
    assert spec.default == logging.WARNING
    assert dict(spec.loggers) == {
        "duroxide.orchestration": logging.DEBUG,
        "duroxide.activity": TRACE,
        "myapp.billing": logging.INFO,
    }


def test_log_spec_defaults_per_command_and_off_silences_everything():
    assert parse_log_spec(None, default="info").default == logging.INFO
    assert parse_log_spec("", default="warn").default == logging.WARNING
    assert parse_log_spec("off").default > logging.CRITICAL


@pytest.mark.parametrize("spec", ["loud", "duroxide.activity=verbose", "=debug"])
def test_a_bad_log_spec_is_a_config_error(spec: str):
    with pytest.raises(ConfigError, match="DUROXIDE_LOG"):
        parse_log_spec(spec)


def test_configured_logging_shows_selected_records_with_their_context():
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    try:
        configure_logging("error,duroxide.activity=info", handler=handler)
        logging.getLogger("duroxide.activity").info("charging", extra={"instance_id": "o-1", "activity_name": "Charge"})
        logging.getLogger("duroxide.orchestration").info("not shown")
        logging.getLogger("duroxide.orchestration").error("shown")
    finally:
        reset_logging()
    text = stream.getvalue()
    assert "INFO  duroxide.activity: charging  instance_id=o-1 activity_name=Charge" in text
    assert "not shown" not in text and "ERROR duroxide.orchestration: shown" in text
    assert logging.getLogger("duroxide").handlers == [] and logging.getLogger("duroxide").level == logging.NOTSET


# -- finding the app -------------------------------------------------------------------------------------------

REGISTRY = "from duroxide_cli import Registry\n"


def test_app_by_path_inside_a_package_keeps_relative_imports_working(tmp_path: Path):
    write(tmp_path / "pkgx" / "__init__.py", "")
    write(tmp_path / "pkgx" / "defs.py", REGISTRY + "reg = Registry()\n")
    write(tmp_path / "pkgx" / "main.py", "from .defs import reg as app\n")
    loaded = load_app("pkgx/main.py", tmp_path)
    assert loaded.module.__name__ == "pkgx.main"
    assert loaded.source_paths == (tmp_path.resolve() / "pkgx",)


def test_app_by_module_and_attribute(tmp_path: Path):
    write(tmp_path / "twoapps.py", REGISTRY + "first = Registry()\nsecond = Registry()\n")
    loaded = load_app("twoapps:second", tmp_path)
    assert loaded.registry is loaded.module.second
    with pytest.raises(ConfigError, match="several Registry objects"):
        load_app("twoapps", tmp_path)
    with pytest.raises(ConfigError, match="no attribute 'third'"):
        load_app("twoapps:third", tmp_path)


def test_a_module_with_several_registries_uses_the_one_named_app(tmp_path: Path):
    write(tmp_path / "named.py", REGISTRY + "other = Registry()\napp = Registry()\n")
    loaded = load_app("named", tmp_path)
    assert loaded.registry is loaded.module.app


@pytest.mark.parametrize(
    "reference, files, fragment",
    [
        ("missing.py", {}, "does not exist"),
        ("no_such_module_xyz", {}, "no module named 'no_such_module_xyz'"),
        ("empty_mod.py", {"empty_mod.py": "x = 1\n"}, "defines no duroxide Registry"),
        ("notreg.py:x", {"notreg.py": "x = 1\n"}, "is an int, not a duroxide Registry"),
    ],
)
def test_an_app_reference_that_names_nothing_is_one_clear_error(tmp_path: Path, reference: str, files: dict, fragment: str):
    for name, text in files.items():
        write(tmp_path / name, text)
    with pytest.raises(ConfigError) as caught:
        load_app(reference, tmp_path)
    assert not isinstance(caught.value, AppImportError)
    assert fragment in str(caught.value)


def test_an_app_that_raises_on_import_keeps_the_users_traceback(tmp_path: Path):
    write(tmp_path / "broken_app.py", REGISTRY + "app = Registry()\n\n\ndef helper():\n    return 1 / 0\n\n\nhelper()\n")
    with pytest.raises(AppImportError) as caught:
        load_app("broken_app.py", tmp_path)
    text = caught.value.user_traceback
    assert "broken_app.py\", line 6, in helper" in text and "ZeroDivisionError" in text
    assert "importlib" not in text and "app_loader" not in text


def test_a_registration_the_app_gets_wrong_shows_the_users_line_not_duroxides(tmp_path: Path):
    write(tmp_path / "bad_app.py", REGISTRY + "app = Registry()\n\n\n@app.orchestration(\"A\")\ndef a(ctx, x):\n    return 1\n")
    with pytest.raises(AppImportError) as caught:
        load_app("bad_app.py", tmp_path)
    text = caught.value.user_traceback
    assert "bad_app.py\", line 5, in <module>" in text and "not a generator function" in text
    assert "registry.py" not in text and "duroxide_cli" not in text
