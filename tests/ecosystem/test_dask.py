"""Dask reads and writes a partitioned Parquet dataset through s3cse:// on a cluster of
worker processes: the filesystem travels to them as its (picklable) options."""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

pytestmark = pytest.mark.integration


def test_dask_parquet_round_trip_on_worker_processes(
    storage_options: dict[str, Any], s3: Any, bucket: str, key_name: str
) -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {"id": np.arange(20_000), "group": rng.integers(0, 5, 20_000), "value": rng.random(20_000)}
    )
    url = f"s3cse://{bucket}/{key_name}/dataset"
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        Client(cluster) as client,
    ):
        assert all(w.pid for w in cluster.workers.values())  # real processes
        dd.from_pandas(df, npartitions=4).to_parquet(url, storage_options=storage_options)
        back = dd.read_parquet(url, storage_options=storage_options)
        summed = back.groupby("group")["value"].sum().compute(scheduler=client)
        rows = back.compute(scheduler=client).sort_values("id").reset_index(drop=True)
    pd.testing.assert_series_equal(
        summed.sort_index(), df.groupby("group")["value"].sum(), check_names=False
    )
    pd.testing.assert_frame_equal(rows[df.columns], df, check_dtype=False)
    stored = s3.list_objects_v2(Bucket=bucket, Prefix=f"{key_name}/dataset")["Contents"]
    parts = [o["Key"] for o in stored if o["Key"].endswith(".parquet")]
    assert len(parts) == 4
    for part in parts:
        assert "x-amz-3" in s3.head_object(Bucket=bucket, Key=part)["Metadata"]
