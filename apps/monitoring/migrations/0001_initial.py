# The app's first migration holds nothing: the metrics store, alarms and schedules each add theirs
# after it.
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = []
