"""cirrusml: local-first AutoML for tabular data, shaped like Azure ML AutoML.

>>> from cirrusml import Input, MLClient, automl
>>> job = automl.classification(training_data=Input(type="mltable", path="./train"),
...                             target_column_name="y", primary_metric="accuracy")
>>> returned = MLClient().jobs.create_or_update(job)          # doctest: +SKIP
"""

from __future__ import annotations

from cirrusml import automl, dsl, mltable
from cirrusml._version import __version__
from cirrusml.client import MLClient
from cirrusml.data import Input, Output
from cirrusml.pipeline import command, load_component
from cirrusml.spec import (
    load_batch_deployment,
    load_batch_endpoint,
    load_job,
    load_model,
    load_online_deployment,
    load_online_endpoint,
)

__all__ = ["Input", "MLClient", "Output", "__version__", "automl", "command", "dsl",
           "load_batch_deployment", "load_batch_endpoint", "load_component", "load_job",
           "load_model", "load_online_deployment", "load_online_endpoint", "mltable"]
