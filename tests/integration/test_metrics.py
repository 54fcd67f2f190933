"""Metrics in the Prometheus text format, read by Prometheus's own parser
(``prometheus_client.parser``) from a ``hyperbeam serve`` process, before and
after the work they count."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client as hb_client
from hyperbeam.message import commit
from tests.conftest import RunningNode
from tests.processes import scheduler_test_process


def scrape(url: str, path: str = "/metrics") -> dict[str, float]:
    """Every sample, as ``name{label=value,...}`` -> value."""
    res = httpx.get(f"{url}{path}")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(res.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    wanted = [f"{k}={v}" for k, v in labels.items()]
    return sum(
        value
        for key, value in samples.items()
        if key.split("{", 1)[0] == name and all(w in key for w in wanted)
    )


def test_metrics_count_requests_slots_and_store_work(node: RunningNode) -> None:
    before = scrape(node.url)
    assert total(before, "hyperbeam_node_info") == 1
    for _ in range(3):
        assert httpx.get(f"{node.url}/~message@1.0&k=v/k").text == "v"
    assert httpx.get(f"{node.url}/~nope@1.0/x").status_code == 404
    # A device other than message@1.0: its result is looked up in the cache first.
    formatted = httpx.get(f"{node.url}/~message@1.0&k=v/~hyperbuddy@1.0/format")
    assert formatted.status_code == 200 and "k: v" in formatted.text
    wallet = Wallet.generate()
    address = httpx.get(f"{node.url}/~meta@1.0/info/address").text
    process = commit.commit(scheduler_test_process(address), wallet)
    status, _ = hb_client.post(
        node.url, {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": process}
    )
    assert status == "ok"
    after = scrape(node.url)

    requests = "hyperbeam_http_requests_total"
    assert total(after, requests, device="message@1.0", status="200") >= (
        total(before, requests, device="message@1.0", status="200") + 3
    )
    assert total(after, requests, device="other", status="404") >= (
        total(before, requests, device="other", status="404") + 1
    )
    seconds = "hyperbeam_http_request_seconds_count"
    assert total(after, seconds, device="message@1.0") >= (
        total(before, seconds, device="message@1.0") + 3
    )
    assert total(
        after, "hyperbeam_http_request_seconds_bucket", device="message@1.0", le="+Inf"
    ) == (total(after, seconds, device="message@1.0"))
    assert total(after, "hyperbeam_slots_assigned_total") >= (
        total(before, "hyperbeam_slots_assigned_total") + 1
    )
    assert total(after, "hyperbeam_store_writes_total") > total(
        before, "hyperbeam_store_writes_total"
    )
    assert total(after, "hyperbeam_resolve_cache_total") > total(
        before, "hyperbeam_resolve_cache_total"
    )
    assert total(after, "process_resident_memory_bytes") > 0


def test_the_hyperbuddy_metrics_key_parses_too(node: RunningNode) -> None:
    samples = scrape(node.url, "/~hyperbuddy@1.0/metrics")
    assert total(samples, "hyperbeam_start_time_seconds") > 0
    assert "hyperbeam_wasm_executions_total{}" in samples
