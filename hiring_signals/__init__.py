"""hiring-signals: shared code for the DAGs, Spark jobs and services. Imports no Airflow."""

__version__ = "0.1.0"
