"""Where Cadence keeps its files when neither the config nor an option says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "cadence"
ENV_CONFIG = "CADENCE_CONFIG"


def config_dir() -> Path:
    """The user config dir (``~/.config/cadence`` on Linux): config, token caches."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    """``$CADENCE_CONFIG``, else ``config.toml`` in the user config dir."""
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser()
    return config_dir() / "config.toml"


def default_store_path() -> Path:
    """The store file in the user data dir (``~/.local/share/cadence/cadence.sqlite``)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "cadence.sqlite"
