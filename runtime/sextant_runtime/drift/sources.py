"""Reading a reference or a window into an Arrow table: parquet or csv, from a path,
`file://` or `http(s)://` (sextant_runtime.tables). The format comes from the name's
extension unless given."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sextant_runtime.tables import Format, SourceError, guess_format, local_file

__all__ = ["Format", "SourceError", "guess_format", "read_table"]


def read_table(uri: str, data_format: Format | None = None) -> pa.Table:
    chosen = data_format or guess_format(uri)
    with local_file(uri) as path:
        try:
            return _parse(path, chosen)
        except (OSError, pa.ArrowInvalid) as err:
            raise SourceError(f"{uri}: {err}") from err


def _parse(source: Path, data_format: Format) -> pa.Table:
    if data_format == "parquet":
        return pq.read_table(source)
    return pacsv.read_csv(pa.input_stream(str(source), compression="detect"))
