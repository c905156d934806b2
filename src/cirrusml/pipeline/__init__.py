"""Pipeline jobs: the DSL (``@pipeline``, ``command(...)``) and the local DAG execution of a
pipeline job's nodes (command nodes and AutoML nodes)."""
