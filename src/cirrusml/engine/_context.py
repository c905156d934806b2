"""What the engine needs from its caller: the job's recorder, its name, log and clock.

Everything the engine writes — MLflow runs, artifacts, the job folder's files, the record,
progress events — goes through :attr:`JobContext.recorder` (a
:class:`~cirrusml.tracking.JobRecorder`); the engine spells no file name of the job folder and
calls no MLflow client itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from cirrusml.exceptions import JobCanceled
from cirrusml.tracking import JobRecorder

__all__ = ["JobCanceled", "JobContext"]


@dataclass
class JobContext:
    """The job being run: its recorder, name and log.

    The runner creates it before calling :func:`run_job`, with the recorder whose parent run it
    opened (in a thread, while the engine loads the data: the first write waits for it).
    """

    recorder: JobRecorder
    name: str
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("cirrusml.job"))
    #: ``time.monotonic()`` when the job's clock started (its runner got a queue slot).
    started: float | None = None
    #: The job was resumed after its runner died: continue from its recorded trials.
    resume: bool = False
