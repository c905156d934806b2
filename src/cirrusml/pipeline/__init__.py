"""Pipeline jobs: the DSL (``@pipeline``, ``command(...)``, ``load_component``) and the local
DAG execution of a pipeline job's nodes (command nodes and AutoML nodes)."""

from cirrusml.pipeline._dsl import command, load_component, pipeline

__all__ = ["command", "load_component", "pipeline"]
