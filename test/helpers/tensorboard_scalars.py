"""Prints, as one JSON object, every scalar TensorBoard's own reader finds in a run directory.

    python tensorboard_scalars.py <run dir>

{"file_version": 2.0, "files": [...], "scalars": {tag: [[step, value], ...]}}: the reader is
tensorboard.backend.event_processing.event_accumulator.EventAccumulator, with no sampling
(size_guidance 0 keeps every event), so the values are exactly what TensorBoard shows.
"""
import json
import os
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

run = sys.argv[1]
acc = EventAccumulator(run, size_guidance={"scalars": 0})
acc.Reload()
print(json.dumps({
    "file_version": acc.file_version,
    "files": sorted(f for f in os.listdir(run) if "tfevents" in f),
    "scalars": {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]},
}))
