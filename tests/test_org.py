"""Roster CSV: normalized, and every malformed file is one clear error (file, line, fix)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cadence.org import RosterError, alias_map, load_roster, relations


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_roster_is_read_and_normalized(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Email , Manager_Email,name,department,team,aliases\n"
        " Ann@Example.com ,,Ann A,Eng,Core,\n"
        'bob@example.com,ANN@example.com,"Bob, Jr.",Eng,Core,'
        "robert@example.com; bobby@example.com\n"
        "\n",
    )
    roster = load_roster(path)
    assert roster["email"].tolist() == ["ann@example.com", "bob@example.com"]
    assert roster["manager_email"].isna().tolist() == [True, False]
    assert roster.loc[1, "name"] == "Bob, Jr."
    assert alias_map(roster) == {
        "robert@example.com": "bob@example.com",
        "bobby@example.com": "bob@example.com",
    }
    assert relations(roster).to_numpy().tolist() == [
        ["ann@example.com", "bob@example.com", "report"]
    ]


def test_skip_level_relations() -> None:
    roster = pd.DataFrame(
        {"email": ["a@x.io", "b@x.io", "c@x.io"], "manager_email": [None, "a@x.io", "b@x.io"]}
    )
    rel = relations(roster, skip_levels=True)
    assert rel.to_numpy().tolist() == [
        ["a@x.io", "b@x.io", "report"],
        ["b@x.io", "c@x.io", "report"],
        ["a@x.io", "c@x.io", "skip_level"],
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("mail,boss\na@x.io,\n", "line 1: no 'email' column"),
        ("email,manager_email\na@x.io,\nb@x.io\n", "line 3: 1 fields, the header has 2"),
        (
            "email,manager_email\nnot-an-email,\n",
            "line 2: email 'not-an-email' is not an email address",
        ),
        ("email,manager_email\na@x.io,\n,a@x.io\n", "line 3: empty email"),
        ("email,manager_email\na@x.io,\nA@x.io ,\n", "lines 2, 3: a@x.io appears more than once"),
        (
            "email,manager_email\na@x.io,\nb@x.io,zed@x.io\n",
            "line 3: manager zed@x.io of b@x.io is not in the roster",
        ),
        ("email,manager_email\na@x.io,c@x.io\nb@x.io,a@x.io\nc@x.io,b@x.io\n", "management cycle"),
        (
            "email,manager_email,aliases\na@x.io,,b@x.io\nb@x.io,a@x.io,\n",
            "alias b@x.io already belongs to",
        ),
        ("", "the roster is empty"),
    ],
)
def test_malformed_rosters(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RosterError) as info:
        load_roster(path)
    assert str(path) in str(info.value)
    assert words in str(info.value)


def test_cycle_names_everyone_in_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,manager_email\na@x.io,c@x.io\nb@x.io,a@x.io\nc@x.io,b@x.io\nd@x.io,a@x.io\n",
    )
    with pytest.raises(RosterError, match=r"a@x\.io → c@x\.io → b@x\.io → a@x\.io"):
        load_roster(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="roster file not found"):
        load_roster(tmp_path / "nope.csv")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(b"email,manager_email\n\xff\xfe,\n")
    with pytest.raises(RosterError, match="UTF-8"):
        load_roster(path)


def test_a_missing_alias_of_any_kind_names_nobody() -> None:
    import math

    frame = pd.DataFrame(
        {"email": ["a@x.io", "b@x.io", "c@x.io"], "aliases": [math.nan, None, "c2@x.io"]}
    )
    assert alias_map(frame) == {"c2@x.io": "c@x.io"}  # no "nan" alias for a@x.io
