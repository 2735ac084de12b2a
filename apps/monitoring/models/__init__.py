from .points import RESOLUTIONS, CollectorRun, MetricCursor, MetricPoint

__all__ = ["RESOLUTIONS", "CollectorRun", "MetricCursor", "MetricPoint"]
