"""pandas, PyArrow, Polars and DuckDB read and write through s3cse:// (real libraries,
real S3): the data round-trips and what S3 stores is ciphertext."""

from __future__ import annotations

from typing import Any

import duckdb
import fsspec
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.integration


def frame(rows: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "city": rng.choice(["Lyon", "Oslo", "Lima"], rows),
            "amount": rng.normal(100, 15, rows).round(2),
        }
    )


def assert_encrypted(s3: Any, bucket: str, key: str, plain_marker: bytes) -> None:
    stored = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert plain_marker not in stored
    assert "x-amz-3" in s3.head_object(Bucket=bucket, Key=key)["Metadata"]


def test_pandas_parquet_and_csv(
    storage_options: dict[str, Any], s3: Any, bucket: str, key_name: str
) -> None:
    df = frame()
    url = f"s3cse://{bucket}/{key_name}/df.parquet"
    df.to_parquet(url, storage_options=storage_options)
    pd.testing.assert_frame_equal(pd.read_parquet(url, storage_options=storage_options), df)
    assert_encrypted(s3, bucket, f"{key_name}/df.parquet", b"PAR1")
    csv = f"s3cse://{bucket}/{key_name}/df.csv"
    df.to_csv(csv, index=False, storage_options=storage_options)
    pd.testing.assert_frame_equal(pd.read_csv(csv, storage_options=storage_options), df)
    assert_encrypted(s3, bucket, f"{key_name}/df.csv", b"Lyon")


def test_pyarrow_parquet_and_dataset(
    storage_options: dict[str, Any], bucket: str, key_name: str
) -> None:
    fs = fsspec.filesystem("s3cse", **storage_options)
    table = pa.Table.from_pandas(frame(), preserve_index=False)
    pq.write_table(table, f"{bucket}/{key_name}/t.parquet", filesystem=fs)
    assert pq.read_table(f"{bucket}/{key_name}/t.parquet", filesystem=fs).equals(table)
    pq.write_to_dataset(table, f"{bucket}/{key_name}/ds", partition_cols=["city"], filesystem=fs)
    dataset = ds.dataset(
        f"{bucket}/{key_name}/ds", filesystem=fs, format="parquet", partitioning="hive"
    )
    back = dataset.to_table().to_pandas().sort_values("id").reset_index(drop=True)
    expected = frame().sort_values("id").reset_index(drop=True)
    assert back["amount"].tolist() == expected["amount"].tolist()
    assert back["city"].astype(str).tolist() == expected["city"].tolist()
    lima = dataset.to_table(filter=ds.field("city") == "Lima").num_rows
    assert lima == int((expected["city"] == "Lima").sum())


def test_polars_reads_and_writes_parquet(
    storage_options: dict[str, Any], bucket: str, key_name: str
) -> None:
    fs = fsspec.filesystem("s3cse", **storage_options)
    df = pl.from_pandas(frame())
    with fs.open(f"{bucket}/{key_name}/p.parquet", "wb") as sink:
        df.write_parquet(sink)
    with fs.open(f"{bucket}/{key_name}/p.parquet", "rb") as source:
        assert pl.read_parquet(source).equals(df)
    with fs.open(f"{bucket}/{key_name}/p.parquet", "rb") as source:
        total = pl.read_parquet(source, columns=["amount"])["amount"].sum()
    assert total == pytest.approx(frame()["amount"].sum())


def test_duckdb_queries_parquet(
    storage_options: dict[str, Any], bucket: str, key_name: str
) -> None:
    fs = fsspec.filesystem("s3cse", **storage_options)
    frame().to_parquet(f"s3cse://{bucket}/{key_name}/q.parquet", storage_options=storage_options)
    con = duckdb.connect()
    con.register_filesystem(fs)
    rows = con.sql(
        f"SELECT city, count(*) AS n, round(sum(amount), 2) AS total "
        f"FROM read_parquet('s3cse://{bucket}/{key_name}/q.parquet') "
        "GROUP BY city ORDER BY city"
    ).fetchall()
    expected = frame().groupby("city").agg(n=("id", "count"), total=("amount", "sum"))
    assert [(c, n) for c, n, _ in rows] == [(c, int(n)) for c, n in expected["n"].items()]
    for (_, _, total), want in zip(rows, expected["total"], strict=True):
        assert total == pytest.approx(want)


def test_one_column_of_a_large_parquet_file_costs_a_fraction(
    storage_options: dict[str, Any], bucket: str, key_name: str
) -> None:
    """Parquet seeks to its footer, then to one column chunk: with the integrity index
    those reads are authenticated and fetch only what they touch."""
    rng = np.random.default_rng(11)
    columns = {f"c{i}": rng.random(2_700_000) for i in range(10)}  # ~216 MB of float64
    table = pa.table(columns)
    fs = fsspec.filesystem("s3cse", skip_instance_cache=True, **storage_options)
    path = f"{bucket}/{key_name}/wide.parquet"
    pq.write_table(table, path, filesystem=fs, compression="none", row_group_size=900_000)
    size = fs.info(path)["size"]
    assert size >= 200 * 1024 * 1024
    reader_fs = fsspec.filesystem("s3cse", skip_instance_cache=True, **storage_options)
    with reader_fs.open(path, "rb") as source:  # default block size and cache
        assert source.protection == "indexed"
        column = pq.read_table(source, columns=["c3"])["c3"].to_numpy()
    np.testing.assert_array_equal(column, columns["c3"])
    print(f"fetched {reader_fs.bytes_fetched} of {size} bytes")
    assert reader_fs.bytes_fetched < size * 0.2, (reader_fs.bytes_fetched, size)
