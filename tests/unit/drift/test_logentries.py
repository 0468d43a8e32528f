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
        total = count * rows + 2
        outputs = {"p": rng.random((total, 2)), "k": np.arange(total)}
        inputs = {"x": rng.random((total, 3)).astype(np.float32)}
        # Row 0 and the row after the first entry belong to requests that were not logged.
        starts = [1 + i * rows + (i > 0) for i in range(count)]
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


def test_a_lone_entry_with_its_own_tensors_packs_with_the_others() -> None:
    rng = np.random.default_rng(5)
    records = _records(rng, 2)
    own = {"x": rng.random((2, 3)).astype(np.float32)}
    records.insert(
        1,
        (
            1_700_000_001.0,
            ["b9-0001"],
            own,
            {"p": rng.random((2, 2)), "k": np.arange(2)},
            None,
            None,
        ),
    )
    packer, entries = _packer(), Entries(records)
    together = packer._uniform(entries, 8)
    assert together is not None
    assert together == b"".join(packer._one(entries, i) for i in range(8))
    # Tensors that are not the entry's rows (a model that never batches) go one at a time.
    records[1] = (*records[1][:2], {"x": rng.random((5, 3))}, *records[1][3:])
    assert _packer()._uniform(Entries(records), 8) is None


def test_unlike_entries_are_packed_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    records = _records(rng, 1)
    x = rng.random((len(records[1][2]["x"]), 4)).astype(np.float32)  # another shape
    records[1] = (*records[1][:2], {"x": x}, *records[1][3:])
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
    np.testing.assert_array_equal(decode(fields, "inputs")["x"], records[1][2]["x"][4:6])
    np.testing.assert_array_equal(decode(fields, "outputs")["p"], records[1][3]["p"][4:6])
    np.testing.assert_array_equal(decode(fields, "outputs")["k"], [4, 5])


def _dense_records(rng: np.random.Generator, rows: int) -> list[Record]:
    """Records holding their entries' rows only: a batch of three, a lone entry, a pair."""
    records: list[Record] = []
    for batch, count in enumerate((3, 1, 2)):
        total = count * rows
        inputs = {"x": rng.random((total, 3)).astype(np.float32), "m": np.arange(total)}
        outputs = {"p": rng.random((total, 2)), "k": np.arange(total)}
        ids = [f"d{batch}-{i:04x}" for i in range(count)]
        records.append((1_700_000_000.5 + batch, ids, inputs, outputs, None, None))
    return records


def test_dense_records_pack_as_one_matrix_with_the_bytes_of_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    for rows in (1, 3):
        records = _dense_records(rng, rows)
        packer, entries = _packer(), Entries(records)
        assert packer._dense(records) is not None
        index, packed, last = packer.batch(records, "ids")
        assert bytes(packed) + last == b"".join(packer._one(entries, i) for i in range(6))
        assert last == packer._one(entries, 5)
        assert index == packer._zadd("ids", 6) + entries.members()
        assert index.count(b":%d\r\n" % rows) == 6


def test_dense_records_unlike_each_other_take_the_general_path() -> None:
    rng = np.random.default_rng(8)
    cases = []
    other_dtype = _dense_records(rng, 1)
    other_dtype[1][2]["x"] = other_dtype[1][2]["x"].astype(np.float64)
    cases.append(other_dtype)
    uneven = _dense_records(rng, 1)
    uneven[2][3]["p"] = rng.random((3, 2))  # two entries cannot share three rows
    cases.append(uneven)
    odd_id = _dense_records(rng, 1)
    odd_id[0][1][1] = "longer-id"
    cases.append(odd_id)
    for records in cases:
        packer, entries = _packer(), Entries(records)
        assert packer._dense(records) is None
        _, packed, last = packer.batch(records, "ids")
        assert bytes(packed) + last == b"".join(packer._one(entries, i) for i in range(6))
