"""Metrics across workers: with `serve --workers N`, one scrape of /metrics reports them all.

`serve` makes a private directory (PROMETHEUS_MULTIPROC_DIR) and removes it when it exits. Each
worker copies its numbers (metrics.py's plain counters, histograms and gauges) into its own files
there, in prometheus_client's multiprocess format, every FLUSH_SECONDS and when it stops; a
scrape, answered by any one worker, first copies its own, then sums every worker's files with
prometheus_client's MultiProcessCollector.

So the hot path is untouched (it still adds to plain numbers; scripts/metric_cost.py measures both), and a
counter never goes backwards: a worker's last second shows late, never lost while it lives, and a
worker that died keeps what it counted in the sums, while its live gauges are dropped
(mark_process_dead) at the next scrape. `process_*` metrics are read from /proc for each live
worker at scrape time, labelled `pid`.
"""

import contextlib
import glob
import os
import shutil
import tempfile
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from policy_engine.metrics import Counter, Metrics, derived_gauges

ENV = "PROMETHEUS_MULTIPROC_DIR"
FLUSH_SECONDS = 1.0
REVISION_INFO = "bundle_active_revision_info"


@contextlib.contextmanager
def shared_metrics_dir(workers: int) -> Iterator[str | None]:
    """In `serve`: a private directory for the workers' files when there are several (else none)."""
    os.environ.pop(ENV, None)  # never sum the files of another run
    if workers <= 1:
        yield None
        return
    path = tempfile.mkdtemp(prefix="policy-engine-metrics-")
    os.environ[ENV] = path
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.environ.pop(ENV, None)


class WorkerFiles:
    """This worker's files: its numbers, each written whole (not added to) at every flush."""

    def __init__(self, metrics: Metrics, path: str, pid: int | None = None) -> None:
        self.metrics, self.path, self.pid = metrics, path, pid or os.getpid()
        self._files: dict[str, MmapedDict] = {}
        self._keys: dict[tuple, str] = {}
        self._revision: tuple[str, ...] | None = None
        self._file("counter")  # a worker is known by its files from the start

    def _file(self, kind: str) -> MmapedDict:
        found = self._files.get(kind)
        if found is None:
            found = self._files[kind] = MmapedDict(os.path.join(self.path, f"{kind}_{self.pid}.db"))
        return found

    def _write(self, kind: str, metric: str, sample: str, names: tuple, values: tuple, doc: str, value: float) -> None:
        key = self._keys.get((sample, values))
        if key is None:
            key = self._keys[(sample, values)] = mmap_key(metric, sample, list(names), list(values), doc)
        self._file(kind).write_value(key, float(value), time.time())

    def flush(self) -> None:
        m = self.metrics
        for metric in m.counters:
            if isinstance(metric, Counter):
                for labels, value in list(metric.values.items()):
                    self._write("counter", metric.name, metric.name, metric.labels, labels, metric.doc, value)
                continue
            names = (*metric.labels, "le")
            bounds = [floatToGoString(b) for b in (*metric.buckets, float("inf"))]
            for labels, counts in list(metric.values.items()):
                for bound, count in zip(bounds, counts[:-1], strict=True):
                    self._write(
                        "histogram", metric.name, metric.name + "_bucket", names, (*labels, bound), metric.doc, count
                    )
                self._write(
                    "histogram", metric.name, metric.name + "_sum", metric.labels, labels, metric.doc, counts[-1]
                )
        for name, (doc, read, mode) in list(m.gauges.items()):
            self._write(f"gauge_{mode}", name, name, (), (), doc, read())
        if m.revision_info is not None:
            self._write_revision(tuple(m.revision_info()))

    def _write_revision(self, revision: tuple[str, ...]) -> None:
        names, doc = ("revision", "content_hash"), "The active bundle (always 1)"
        if self._revision is not None and self._revision != revision:  # no longer active here
            self._write("gauge_livemax", REVISION_INFO, REVISION_INFO, names, self._revision, doc, 0)
        self._revision = revision
        self._write("gauge_livemax", REVISION_INFO, REVISION_INFO, names, revision, doc, 1)

    def close(self) -> None:
        self.flush()
        for file in self._files.values():
            file.close()


class AllWorkers(Collector):
    """Every worker's metrics, summed (gauges by their mode), plus the ratios and process metrics."""

    def __init__(self, files: WorkerFiles) -> None:
        self.files, self.path = files, files.path

    def collect(self) -> Iterator[Metric]:
        self.files.flush()
        live = self._live_workers()
        merged = list(MultiProcessCollector.merge(glob.glob(os.path.join(self.path, "*.db")), accumulate=True))
        totals: dict[str, dict[tuple[str, ...], float]] = {}
        labels = {c.name: c.labels for c in self.files.metrics.counters if isinstance(c, Counter)}
        for metric in merged:
            if metric.name == REVISION_INFO:
                metric.samples = [s for s in metric.samples if s.value]
            for s in metric.samples if metric.type == "counter" else ():
                totals.setdefault(s.name, {})[tuple(s.labels[n] for n in labels.get(s.name, ()))] = s.value
            yield metric
        yield from derived_gauges(totals)
        yield from process_metrics(live)

    def _live_workers(self) -> list[int]:
        """The pids of the workers alive; a dead one's live gauges are dropped on the way."""
        pids = {
            int(os.path.basename(f)[len("counter_") : -3]) for f in glob.glob(os.path.join(self.path, "counter_*.db"))
        }
        live = []
        for pid in sorted(pids):
            if os.path.exists(f"/proc/{pid}"):
                live.append(pid)
            else:
                mark_process_dead(pid, self.path)
        return live


def process_metrics(pids: list[int]) -> Iterator[Metric]:
    """prometheus_client's process_* metrics of each process, one series per `pid`."""
    families: dict[str, Metric] = {}
    for pid in pids:
        for family in ProcessCollector(registry=None, pid=lambda pid=pid: pid).collect():
            merged = families.setdefault(family.name, Metric(family.name, family.documentation, family.type))
            for s in family.samples:
                merged.add_sample(s.name, {**s.labels, "pid": str(pid)}, s.value)
    yield from families.values()


def scrape_registry(metrics: Metrics) -> tuple[CollectorRegistry, WorkerFiles | None]:
    """What /metrics reads: all workers' files under `serve --workers N`, else this process (and its
    process_* metrics). The WorkerFiles, when there are several workers, are to be flushed."""
    path = os.environ.get(ENV)
    if not path:
        ProcessCollector(registry=metrics.registry)
        return metrics.registry, None
    files = WorkerFiles(metrics, path)
    registry = CollectorRegistry()
    registry.register(AllWorkers(files))
    return registry, files
