from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running the product: server processes and their draining, health checks, metrics, logs."""

    name = "operations"
    verbose_name = "Operations"
