"""Prediction log entries: the batch packing (one byte matrix for alike entries) writes
exactly the bytes of packing each entry alone, and decode reads them back."""

from __future__ import annotations

import numpy as np

from sextant_runtime.logentries import Entries, EntryPacker, Record, decode


def _packer() -> EntryPacker:
    return EntryPacker(
        "sextant:predictions:m", 1000, {"model": "m", "version": "3", "track": "canary"}
    )


def _records(rng: np.random.Generator, rows: int) -> list[Record]:
    records: list[Record] = []
    for batch, count in enumerate((4, 3)):
        outputs = {"p": rng.random((count * rows + 1, 2)), "k": np.arange(count * rows + 1)}
        inputs = [{"x": rng.random((rows, 3)).astype(np.float32)} for _ in range(count)]
        starts = [1 + i * rows for i in range(count)]  # row 0 belongs to an unlogged request
        ends = [start + rows for start in starts]
        ids = [f"b{batch}-{i:04x}" for i in range(count)]
        records.append((1_700_000_000.25 + batch, ids, inputs, outputs, starts, ends))
    return records


def test_alike_entries_pack_as_one_matrix_with_the_bytes_of_one_at_a_time() -> None:
    rng = np.random.default_rng(2)
    for rows in (1, 2):
        packer = _packer()
        entries = Entries(_records(rng, rows))
        n = len(entries.ids)
        together = packer._uniform(entries, n)
        assert together is not None
        assert together == b"".join(packer._one(entries, i) for i in range(n))


def test_unlike_entries_are_packed_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    records = _records(rng, 1)
    records[1][2][0] = {"x": rng.random((1, 4)).astype(np.float32)}  # another shape
    assert _packer()._uniform(Entries(records), 7) is None
    odd_id = _records(rng, 1)
    odd_id[0][1][0] = "longer-id"
    assert _packer()._uniform(Entries(odd_id), 7) is None
    index, packed, last = _packer().batch(records, "ids")
    assert packed.count(b"XADD") == 6
    assert last.count(b"XADD") == 1
    assert index.startswith(b"*16\r\n$4\r\nZADD\r\n$3\r\nids\r\n")


def test_decode_reads_back_an_entry() -> None:
    rng = np.random.default_rng(4)
    records = _records(rng, 2)
    command = _packer()._one(Entries(records), 5)  # batch 1, entry 1
    # A RESP command's arguments, as Redis would store them: field, value, field, ...
    parts = command.split(b"\r\n")
    args, i = [], 2
    while i < len(parts) - 1:
        size = int(parts[i - 1][1:])
        value = b"\r\n".join(parts[i:])[:size]
        args.append(value)
        i += value.count(b"\r\n") + 2
    fields = dict(zip(args[6::2], args[7::2], strict=True))
    np.testing.assert_array_equal(decode(fields, "inputs")["x"], records[1][2][1]["x"])
    np.testing.assert_array_equal(decode(fields, "outputs")["p"], records[1][3]["p"][3:5])
    np.testing.assert_array_equal(decode(fields, "outputs")["k"], [3, 4])
