#!/usr/bin/python3
"""Prints the facts of a `qcc sim` report.json that tests check
(test/npu/examples-sim.test): consistency of its figures, not their values."""
import json
import sys

r = json.load(open(sys.argv[1]))
print("host qmatmul:", sum("qmatmul" in h["kernel"] for h in r["host_fallbacks"]))
print("host bmatmul:", sum("bmatmul" in h["kernel"] for h in r["host_fallbacks"]))
print("pe macs:", r["macs"])
print("dram >= lower bound:", r["dram_read_bytes"] + r["dram_write_bytes"] >= r["dram_lower_bound_bytes"] > 0)
print("sram peak <= sram:", 0 < r["sram_peak_bytes"] <= r["sram_bytes"])
busy = max(e["busy_cycles"] for e in r["engines"].values())
print("cycles >= busiest engine:", r["cycles"] >= busy)
print("layers cover commands:", sum(l["commands"] for l in r["layers"]) == r["commands"])
