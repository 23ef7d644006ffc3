"""Exports beside a report: the tables it shows, as CSV and Parquet.

The leader report exports ``<stem>-pairs`` and ``<stem>-occurrences``; the
organisation report its roll-ups only (``<stem>-departments``,
``<stem>-levels``, ``<stem>-managers``, small groups pooled, the same tables the
review shows: :func:`cadence.report.org.review_tables`), never pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cadence.analysis import Analysis
from cadence.analysis.review import DEFAULT_COVERAGE_WEEKS, Membership, ReviewSettings
from cadence.model import Snapshot
from cadence.report import org
from cadence.report.privacy import pseudonymize


def export_tables(
    analysis: Analysis,
    *,
    org_report: bool = False,
    min_group_size: int = org.DEFAULT_MIN_GROUP,
    pseudonym_key: str | None = None,
    previous: Snapshot | None = None,
    coverage_weeks: int = DEFAULT_COVERAGE_WEEKS,
    membership: Membership = "report",
) -> dict[str, pd.DataFrame]:
    """The tables a report exports, by name (see :func:`write_report`).

    Examples
    --------
    >>> import cadence
    >>> tables = cadence.report.export_tables(result, org_report=True)
    >>> sorted(tables)
    ['departments', 'levels', 'managers']
    """
    if org_report:
        settings = ReviewSettings(min_group_size, coverage_weeks, membership)
        return org.review_tables(analysis, settings, previous=previous, pseudonym_key=pseudonym_key)
    shown = pseudonymize(analysis, pseudonym_key) if pseudonym_key else analysis
    return {"pairs": shown.pairs, "occurrences": shown.occurrences}


def _write_parquet(table: pd.DataFrame, path: Path) -> None:
    """Parquet that pandas reads back: list columns are recorded as plain ``object``.

    (pandas 3 writes ``list<item: string>[pyarrow]`` into the file's metadata and
    then cannot parse that dtype name when reading the file.)
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    meta = json.loads(arrow.schema.metadata[b"pandas"])
    for col in meta["columns"]:
        if str(col.get("numpy_type", "")).startswith("list<"):
            col["numpy_type"] = "object"
    arrow = arrow.replace_schema_metadata({**arrow.schema.metadata, b"pandas": json.dumps(meta)})
    pq.write_table(arrow, path)


def write_exports(
    analysis: Analysis,
    report: Path,
    *,
    org_report: bool = False,
    min_group_size: int = org.DEFAULT_MIN_GROUP,
    pseudonym_key: str | None = None,
    previous: Snapshot | None = None,
    coverage_weeks: int = DEFAULT_COVERAGE_WEEKS,
    membership: Membership = "report",
) -> list[Path]:
    """CSV and Parquet files of :func:`export_tables` beside ``report``.

    Examples
    --------
    >>> import cadence, pathlib, tempfile
    >>> report = pathlib.Path(tempfile.mkdtemp()) / "hr.html"
    >>> [p.name for p in cadence.report.write_exports(result, report, org_report=True)][:2]
    ['hr-departments.parquet', 'hr-departments.csv']
    """
    written = []
    tables = export_tables(
        analysis,
        org_report=org_report,
        min_group_size=min_group_size,
        pseudonym_key=pseudonym_key,
        previous=previous,
        coverage_weeks=coverage_weeks,
        membership=membership,
    )
    for name, table in tables.items():
        base = report.with_name(f"{report.stem}-{name}")
        _write_parquet(table, base.with_suffix(".parquet"))
        flat = table.copy()
        if "reasons" in flat.columns:
            flat["reasons"] = flat["reasons"].map(lambda r: "; ".join(r), na_action="ignore")
        flat.to_csv(base.with_suffix(".csv"), index=False, date_format="%Y-%m-%dT%H:%M:%S%z")
        written += [base.with_suffix(".parquet"), base.with_suffix(".csv")]
    return written
