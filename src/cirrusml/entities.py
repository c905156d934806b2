"""The entities of assets, endpoints and deployments, as ``azure.ai.ml.entities`` spells them.

>>> from cirrusml.entities import ManagedOnlineDeployment, Model
>>> model = Model(path="./outputs/best_model", name="bank-marketing", type="mlflow_model")
>>> deployment = ManagedOnlineDeployment(name="blue", endpoint_name="bank",
...                                      model="azureml:bank-marketing:1", instance_count=1)
>>> deployment.request_settings.request_timeout_ms
5000
"""

from __future__ import annotations

from cirrusml.spec import (
    BatchDeployment,
    BatchEndpoint,
    BatchRetrySettings,
    CodeConfiguration,
    DaskCompute,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineRequestSettings,
    ProbeSettings,
)

__all__ = [
    "BatchDeployment",
    "BatchEndpoint",
    "BatchRetrySettings",
    "CodeConfiguration",
    "DaskCompute",
    "Environment",
    "ManagedOnlineDeployment",
    "ManagedOnlineEndpoint",
    "Model",
    "OnlineRequestSettings",
    "ProbeSettings",
]
