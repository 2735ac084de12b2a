from .points import RESOLUTIONS, MetricCursor, MetricPoint

__all__ = ["RESOLUTIONS", "MetricCursor", "MetricPoint"]
