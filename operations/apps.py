from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running the product: server processes and their draining, health checks, metrics, logs."""

    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from operations import metrics

        metrics.connect_celery()
