"""The broker's storage is formatted whatever random cluster id it is given.

One url-safe base64 id in 64 starts with "-", which the storage tool read as an option
when the id was passed as a word of its own, so a fresh machine failed to start Kafka.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest

from ticketflow_local import infra
from ticketflow_local.config import PATHS

# 0xF8's first six bits are 62, url-safe base64's "-".
_DASH_FIRST = uuid.UUID(bytes=b"\xf8" + bytes(15))


def test_a_new_cluster_id_never_starts_with_a_dash(monkeypatch):
    drawn = iter([_DASH_FIRST, uuid.UUID(int=7)])
    monkeypatch.setattr(infra.uuid, "uuid4", lambda: next(drawn))

    cluster_id = infra.new_kafka_cluster_id()

    assert cluster_id == "AAAAAAAAAAAAAAAAAAAABw"
    assert len(cluster_id) == 22


@pytest.mark.infra
def test_the_storage_tool_formats_with_an_id_that_starts_with_a_dash(tmp_path):
    libs = PATHS.kafka / "libs"
    if not any(libs.glob("kafka_2.13-*.jar")):
        pytest.skip("the broker jars are resolved by `python -m ticketflow_local.infra up`")
    cluster_id = "-3uJHO8KRSuSEpk6oFhRdg"
    data = tmp_path / "data"
    props = infra.kafka_properties(tmp_path / "server.properties", data)

    subprocess.run(infra.kafka_format_command(libs, props, cluster_id),
                   check=True, capture_output=True, timeout=120)

    assert f"cluster.id={cluster_id}" in (data / "meta.properties").read_text().splitlines()
