"""Prometheus metrics (``GET /metrics``): what each process counts, and the database's
backlog read when scraped.

Counters and histograms are per process (sum them over replicas); the outbox and job
gauges are read from the shared database at each scrape, so every replica reports the
same values (take ``max``, not ``sum``). Names and labels are listed in
docs/operations.md ("Monitoring"); label values come from short fixed lists, never from
what a person typed.
"""

from __future__ import annotations

import time
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from domain import JobStatus, OutboxStatus
from storage.db import Database

REGISTRY = CollectorRegistry(auto_describe=True)

# Slack acknowledges within 3 s: the buckets are finest below that.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)

REQUESTS = Counter(
    "relais_requests",
    "Requests from a chat platform, by platform, kind and HTTP status answered.",
    ["platform", "kind", "status"],
    registry=REGISTRY,
)
ACK_SECONDS = Histogram(
    "relais_ack_seconds",
    "Time from a platform request's arrival to its answer (the ack), in seconds.",
    ["platform", "kind"],
    buckets=ACK_BUCKETS,
    registry=REGISTRY,
)
SENDS = Counter(
    "relais_sends",
    "Outbox messages the platform accepted, by platform and kind (post, update).",
    ["platform", "kind"],
    registry=REGISTRY,
)
SEND_FAILURES = Counter(
    "relais_send_failures",
    "Failed outbox sends, by platform and reason (rate_limited, transient, permanent, error).",
    ["platform", "reason"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "relais_dead_letters",
    "Outbox messages given up on by this process (they become dead letters).",
    ["platform"],
    registry=REGISTRY,
)
ROUNDS = Counter(
    "relais_rounds",
    "Scheduled rounds run (claimed and queued) by this process, by kind.",
    ["kind"],
    registry=REGISTRY,
)
RETENTION_FILES = Counter(
    "relais_retention_files_deleted",
    "Media files deleted by the retention round in this process, by reason (submission: "
    "photos of rejected or withdrawn submissions past RELAIS_RETENTION_DAYS; orphan: files "
    "nothing references).",
    ["reason"],
    registry=REGISTRY,
)
PHOTO_BYTES = Counter(
    "relais_photo_intake_bytes",
    "Bytes of photos read by the intake (what people sent, before cleaning).",
    registry=REGISTRY,
)
VIDEOS = Counter(
    "relais_video_intake",
    "Videos the intake accepted, by how they were cleaned: stream copy or re-encoded.",
    ["how"],
    registry=REGISTRY,
)
PHOTO_REJECTIONS = Counter(
    "relais_photo_rejections",
    "Photos the intake refused, by reason.",
    ["reason"],
    registry=REGISTRY,
)
OUTBOX_MESSAGES = Gauge(
    "relais_outbox_messages",
    "Outbox rows not sent, by status (pending, sending, dead): read from the database.",
    ["status"],
    registry=REGISTRY,
)
OUTBOX_OLDEST = Gauge(
    "relais_outbox_oldest_pending_seconds",
    "Age of the oldest outbox row still to send (0 when none): read from the database.",
    registry=REGISTRY,
)
SEND_LEASES = Gauge(
    "relais_send_leases",
    "Workspaces whose outbox rows this replica sends (holds the send lease of), by platform.",
    ["platform"],
    registry=REGISTRY,
)
JOBS = Gauge(
    "relais_jobs",
    "Jobs (work after the ack) not done, by status (pending, running, dead).",
    ["status"],
    registry=REGISTRY,
)
SCRAPE_ERRORS = Counter(
    "relais_metrics_database_errors",
    "Scrapes whose database gauges could not be read (they keep their last values).",
    registry=REGISTRY,
)

OUTBOX_STATUSES = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.DEAD)
JOB_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.DEAD)


class RequestTimer:
    """Times one platform request from its arrival; ``done()`` records it once answered.

    ``kind`` starts as ``unknown`` and is set by the adapter once it knows (``refused``
    for one turned away at the edge): only values from the adapter's fixed list."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.kind = "unknown"
        self._started = time.perf_counter()

    def done(self, status: int) -> None:
        elapsed = time.perf_counter() - self._started
        REQUESTS.labels(self.platform, self.kind, str(status)).inc()
        ACK_SECONDS.labels(self.platform, self.kind).observe(elapsed)


async def read_backlog(db: Database, now: datetime) -> None:
    """Set the outbox and job gauges from the database (one read)."""
    async with db.read() as r:
        outbox, oldest = await r.outbox.backlog()
        jobs = await r.jobs.backlog()
    for status in OUTBOX_STATUSES:
        OUTBOX_MESSAGES.labels(status.value).set(outbox.get(status.value, 0))
    OUTBOX_OLDEST.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    for job_status in JOB_STATUSES:
        JOBS.labels(job_status.value).set(jobs.get(job_status.value, 0))
