"""The Celery application: every flow runs here (see apps.core.flows)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudportal.settings")

app = Celery("cloudportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
