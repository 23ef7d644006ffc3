"""Config: validated, strict, and every message names the file, the key and the fix."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cadence.config import Settings, load_config, parse_config
from cadence.errors import ConfigError
from cadence.paths import default_store_path

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CADENCE_CONFIG", str(tmp_path / "absent.toml"))
    settings = load_config()
    assert settings == Settings()
    assert settings.store.resolved() == default_store_path()


def test_values_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, '[store]\npath = "~/x/c.sqlite"\n[analysis]\nwindow = "26w"\n')
    settings = load_config(path)
    assert settings.store.resolved() == Path("~/x/c.sqlite").expanduser()
    assert settings.analysis.window == "26w"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[analysis]\nwindw = "13w"\n', "[analysis] windw: unknown key"),
        ('[analysis]\nwindow = "soon"\n', "[analysis] window = 'soon': window must look like"),
        ("[analysis]\ninclude_peers = 3\n", "[analysis] include_peers = 3"),
        ('[reports]\nout = "x"\n', "reports: unknown key"),
        ("[analysis\n", "not valid TOML"),
        (
            '[ics]\npaths = ["/no/such/export.ics"]\n',
            "/no/such/export.ics does not exist; give existing .ics files or folders",
        ),
        (
            '[ics]\ncalendar = "ann"\n',
            "[ics] calendar = 'ann': expected the calendar owner's email",
        ),
        ('[ics]\ndefault_timezone = "Mars/Olympus"\n', "expected an IANA time zone"),
        ("[ics]\nweeks_back = -1\n", "[ics] weeks_back = -1"),
        ('[google]\nauth = "password"\n', "[google] auth = 'password'"),
        ('[google]\ncalendars = ["ann"]\n', "'ann' is not a calendar email"),
        ('[google]\napi_root = "localhost:8080"\n', "expected an http(s) URL"),
        ("[google]\nworkers = 0\n", "[google] workers = 0"),
        ("[report]\nmin_group_size = 1\n", "[report] min_group_size = 1"),
        ('[report]\nleader = "ada"\n', "expected the leader's email address"),
        ("[report]\npseudonym_key = 1234\n", "[report] pseudonym_key = '***'"),
        ('[roster]\npath = "/no/roster.csv"\n', "/no/roster.csv does not exist"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert words in str(info.value)


def test_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def _keys(model: type, prefix: str = "") -> set[str]:
    out = set()
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            out |= _keys(annotation, f"{prefix}{name}.")
        else:
            out.add(f"{prefix}{name}")
    return out


def test_example_config_loads_and_documents_every_key() -> None:
    example = ROOT / "config.example.toml"
    settings = load_config(example)
    assert settings == Settings()  # the example shows the defaults
    text = example.read_text(encoding="utf-8")
    # every key appears, set or commented out, under its section
    for dotted in _keys(Settings):
        section, key = dotted.rsplit(".", 1)
        assert f"[{section}]" in text, dotted
        assert f"\n{key} = " in text or f"\n# {key} = " in text, dotted
    parse_config(tomllib.loads(text))
