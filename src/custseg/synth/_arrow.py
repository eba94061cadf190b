"""Fast, vectorized builders for the Arrow columns the generator writes.

Python-level string formatting per row is far too slow for tens of millions of
rows, so ids, digit strings and ISO timestamps are assembled directly as byte
matrices and handed to Arrow as string buffers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "TS_TYPE",
    "fixed_width_ids",
    "hex_ids",
    "digit_strings",
    "letter_strings",
    "take",
    "cat",
    "encode",
    "plain",
    "join",
    "null_where",
    "timestamps",
    "iso_utc_strings",
    "money",
    "replace_rows",
    "choice_rows",
]

#: Arrow type of every timestamp column written by the generator.
TS_TYPE = pa.timestamp("us", tz="UTC")

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _from_matrix(mat: np.ndarray) -> pa.StringArray:
    """Turn an ``(n, w)`` ``uint8`` matrix of ASCII codes into ``n`` strings of width ``w``."""
    mat = np.ascontiguousarray(mat, dtype=np.uint8)
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    return pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(mat)]
    ).cast(pa.string())


def _digits_into(out: np.ndarray, values: np.ndarray, col: int, width: int) -> None:
    """Write ``values`` zero-padded to ``width`` decimal digits into ``out[:, col:col+width]``."""
    x = np.asarray(values, dtype=np.int64)
    if x.size and (x.min() < 0 or x.max() >= 10**width):
        raise ValueError(f"value does not fit in {width} digits")
    if width > 9:  # uint32 arithmetic is several times faster than int64: split the number
        _digits_into(out, x // 10**9, col, width - 9)
        _digits_into(out, x % 10**9, col + width - 9, 9)
        return
    v = x.astype(np.uint32)
    tmp = np.empty((width, len(v)), dtype=np.uint8)
    for j in range(width - 1, -1, -1):
        tmp[j] = v % 10
        v //= 10
    tmp += 48
    out[:, col : col + width] = tmp.T


def fixed_width_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """Ids such as ``C0000001``: ``prefix`` followed by ``numbers`` zero-padded to ``width``.

    Parameters
    ----------
    prefix
        ASCII prefix.
    numbers
        Non-negative integers.
    width
        Number of digits.

    Returns
    -------
    pyarrow.StringArray
    """
    numbers = np.asarray(numbers)
    p = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    out = np.empty((len(numbers), len(p) + width), dtype=np.uint8)
    out[:, : len(p)] = p
    _digits_into(out, numbers, len(p), width)
    return _from_matrix(out)


def hex_ids(prefix: str, numbers: np.ndarray, width: int = 16) -> pa.StringArray:
    """``prefix`` followed by the low ``4 * width`` bits of ``numbers`` in lower-case hex."""
    x = np.asarray(numbers, dtype=np.uint64).copy()
    p = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    out = np.empty((len(x), len(p) + width), dtype=np.uint8)
    out[:, : len(p)] = p
    for j in range(width - 1, -1, -1):
        out[:, len(p) + j] = _HEX[(x & np.uint64(15)).astype(np.intp)]
        x >>= np.uint64(4)
    return _from_matrix(out)


def digit_strings(rng: np.random.Generator, n: int, width: int) -> pa.StringArray:
    """``n`` strings of ``width`` random decimal digits."""
    return _from_matrix(48 + rng.integers(0, 10, size=(n, width), dtype=np.uint8))


def letter_strings(rng: np.random.Generator, n: int, width: int, alphabet: str) -> pa.StringArray:
    """``n`` strings of ``width`` random characters drawn from ``alphabet``."""
    a = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    return _from_matrix(a[rng.integers(0, len(a), size=(n, width))])


def take(
    choices: Sequence[str | None] | pa.Array, idx: np.ndarray, null: np.ndarray | None = None
) -> pa.StringArray:
    """``choices[idx]`` as an Arrow string array; rows where ``null`` is true are null."""
    if not isinstance(choices, pa.Array):
        choices = pa.array(list(choices), type=pa.string())
    ind = pa.array(np.asarray(idx, dtype=np.int64), type=pa.int64(), mask=null)
    return choices.take(ind)


def cat(
    choices: Sequence[str | None] | pa.Array, idx: np.ndarray, null: np.ndarray | None = None
) -> pa.DictionaryArray:
    """Like :func:`take`, but dictionary-encoded (cheap to build and to write to Parquet).

    The writer stores these columns as plain strings in the file's schema: they read back
    as ``string``. ``choices`` must not repeat a value (the Parquet writer's output would
    then depend on more than the values).
    """
    if not isinstance(choices, pa.Array):
        choices = pa.array(list(choices), type=pa.string())
    if pc.count_distinct(choices, mode="all").as_py() != len(choices):
        raise ValueError("the choices of a dictionary-encoded column must be distinct")
    ind = pa.array(np.asarray(idx, dtype=np.int32), type=pa.int32(), mask=null)
    return pa.DictionaryArray.from_arrays(ind, choices)


def encode(arr: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """``arr`` dictionary-encoded (distinct dictionary values, int32 indices)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return pc.dictionary_encode(arr).cast(pa.dictionary(pa.int32(), arr.type))


def plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``arr`` as a single plain (not dictionary-encoded) array."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    return arr


def join(*parts: pa.Array | str) -> pa.StringArray:
    """Concatenate string arrays and literals element-wise (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


def null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    """``arr`` with the rows where ``mask`` is true replaced by null."""
    if not np.any(mask):
        return arr
    return pc.if_else(pa.array(mask), pa.scalar(None, arr.type), arr)


def timestamps(us: np.ndarray, null: np.ndarray | None = None) -> pa.TimestampArray:
    """UTC timestamps from integer microseconds since the epoch."""
    return pa.array(np.asarray(us, dtype=np.int64), type=TS_TYPE, mask=null)


_TWO_DIGITS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint8)


def iso_utc_strings(seconds: np.ndarray) -> pa.StringArray:
    """Format epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ`` (years 1000-9999)."""
    s = np.asarray(seconds, dtype=np.int64)
    out = np.empty((len(s), 20), dtype=np.uint8)
    if len(s) == 0:
        return _from_matrix(out)
    days = np.floor_divide(s, 86_400)
    sod = (s - days * 86_400).astype(np.int32)
    d0 = int(days.min())
    span = np.arange(d0, int(days.max()) + 1).astype("datetime64[D]")
    table = np.frombuffer(
        np.datetime_as_string(span, unit="D").astype("S10").tobytes(), dtype=np.uint8
    ).reshape(-1, 10)
    out[:, :10] = table.take(days - d0, axis=0)
    out[:, 10] = ord("T")
    out[:, [13, 16]] = ord(":")
    out[:, 19] = ord("Z")
    out[:, 11:13] = _TWO_DIGITS.take(sod // 3600, axis=0)
    out[:, 14:16] = _TWO_DIGITS.take(sod // 60 % 60, axis=0)
    out[:, 17:19] = _TWO_DIGITS.take(sod % 60, axis=0)
    return _from_matrix(out)


def money(cents: np.ndarray, null: np.ndarray | None = None) -> pa.DoubleArray:
    """Float64 amounts from integer cents (exactly rounded to 2 decimals)."""
    return pa.array(np.asarray(cents, dtype=np.int64) / 100.0, type=pa.float64(), mask=null)


def replace_rows(arr: pa.Array, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """``arr`` with ``arr[rows[i]]`` replaced by ``values[i]``."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return arr
    n = len(arr)
    idx = np.arange(n, dtype=np.int64)
    idx[rows] = n + np.arange(len(rows))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return pa.concat_arrays([arr, values.cast(arr.type)]).take(pa.array(idx))


def choice_rows(rng: np.random.Generator, probs: np.ndarray, row: np.ndarray) -> np.ndarray:
    """For each ``row[i]``, an index drawn with probabilities ``probs[row[i]]``."""
    cum = np.cumsum(np.asarray(probs, dtype=np.float64), axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(row))
    return np.minimum((u[:, None] >= cum[row]).sum(axis=1), cum.shape[1] - 1)
