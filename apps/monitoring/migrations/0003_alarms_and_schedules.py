# Alarm rules, alarms and their history, notification endpoints and deliveries, VM schedules
# (issue 17). Numbered 0003: the metrics store's migration is 0002.

import apps.core.secrets
import django.db.models.deletion
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('compute', '0005_zones_clusters_hosts_to_infra'),
        ('monitoring', '0002_metric_store'),
    ]

    operations = [
        migrations.CreateModel(
            name='EventCursor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=64, unique=True)),
                ('position', models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name='Alarm',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('name', models.CharField(max_length=255)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('resource_type', models.CharField(max_length=64)),
                ('resource_uuid', models.UUIDField()),
                ('state', models.CharField(choices=[('OK', 'Ok'), ('Alarm', 'Alarm')], default='OK', max_length=8)),
                ('value', models.FloatField(blank=True, null=True)),
                ('reason', models.TextField(blank=True, default='')),
                ('pending_since', models.DateTimeField(blank=True, help_text='the condition holds since', null=True)),
                ('changed_at', models.DateTimeField(blank=True, null=True)),
                ('notified_at', models.DateTimeField(blank=True, null=True)),
                ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account')),
            ],
            options={
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='AlarmRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('name', models.CharField(max_length=255)),
                ('description', models.TextField(blank=True, default='')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('busy_job', models.UUIDField(blank=True, editable=False, null=True)),
                ('kind', models.CharField(choices=[('metric', 'Metric'), ('event', 'Event')], max_length=8)),
                ('resource_kind', models.CharField(blank=True, choices=[('host', 'Host'), ('vm', 'Vm')], default='', max_length=8)),
                ('metric', models.CharField(blank=True, default='', max_length=64)),
                ('resource_uuids', models.JSONField(blank=True, default=list, help_text='the watched resources; empty: all')),
                ('resource_filter', models.JSONField(blank=True, default=list, help_text='q= conditions choosing them')),
                ('aggregation', models.CharField(choices=[('avg', 'Avg'), ('max', 'Max'), ('min', 'Min'), ('last', 'Last')], default='avg', max_length=8)),
                ('window_seconds', models.PositiveIntegerField(default=300)),
                ('comparison', models.CharField(choices=[('>', 'Gt'), ('>=', 'Ge'), ('<', 'Lt'), ('<=', 'Le')], default='>', max_length=2)),
                ('threshold', models.FloatField(blank=True, null=True)),
                ('duration_seconds', models.PositiveIntegerField(default=0, help_text='how long the condition must hold')),
                ('event_type', models.CharField(blank=True, choices=[('host.disconnected', 'Host Disconnected'), ('host.connected', 'Host Connected'), ('primary_storage.disconnected', 'Primary Storage Disconnected'), ('primary_storage.connected', 'Primary Storage Connected'), ('backup_storage.disconnected', 'Backup Storage Disconnected'), ('backup_storage.connected', 'Backup Storage Connected'), ('vm.stopped_unexpectedly', 'Vm Stopped Unexpectedly'), ('vm.state_changed', 'Vm State Changed'), ('job.failed', 'Job Failed')], default='', max_length=32)),
                ('event_states', models.JSONField(blank=True, default=list, help_text='vm.state_changed: the new states')),
                ('repeat_interval', models.PositiveIntegerField(default=0, help_text='seconds between reminders; 0: none')),
                ('muted', models.BooleanField(default=False)),
                ('builtin', models.CharField(blank=True, default='', help_text='key of a built-in rule', max_length=64)),
                ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='alarm_rules', to='accounts.account')),
            ],
            options={
                'ordering': ['created_at', 'id'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='AlarmHistory',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('resource_type', models.CharField(max_length=64)),
                ('resource_uuid', models.UUIDField()),
                ('resource_name', models.CharField(blank=True, default='', max_length=255)),
                ('from_state', models.CharField(blank=True, default='', max_length=8)),
                ('to_state', models.CharField(blank=True, default='', help_text='empty for a notice', max_length=8)),
                ('reminder', models.BooleanField(default=False)),
                ('reason', models.TextField()),
                ('caused_by', models.CharField(blank=True, default='', help_text='the event, job or evaluation', max_length=255)),
                ('value', models.FloatField(blank=True, null=True)),
                ('details', models.JSONField(blank=True, default=dict)),
                ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account')),
                ('alarm', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='history', to='monitoring.alarm')),
                ('rule', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='history', to='monitoring.alarmrule')),
            ],
            options={
                'verbose_name_plural': 'alarm history',
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.AddField(
            model_name='alarm',
            name='rule',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alarms', to='monitoring.alarmrule'),
        ),
        migrations.CreateModel(
            name='NotificationEndpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('name', models.CharField(max_length=255)),
                ('description', models.TextField(blank=True, default='')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('busy_job', models.UUIDField(blank=True, editable=False, null=True)),
                ('type', models.CharField(choices=[('email', 'Email'), ('webhook', 'Webhook')], max_length=8)),
                ('address', models.CharField(help_text='email: addresses, comma separated; webhook: URL', max_length=2048)),
                ('secret', apps.core.secrets.EncryptedTextField(blank=True, default='')),
                ('state', models.CharField(choices=[('Enabled', 'Enabled'), ('Disabled', 'Disabled')], default='Enabled', max_length=16)),
                ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notification_endpoints', to='accounts.account')),
            ],
            options={
                'ordering': ['created_at', 'id'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('state', models.CharField(choices=[('pending', 'Pending'), ('sent', 'Sent'), ('failed', 'Failed')], default='pending', max_length=8)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('delivered_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True, default='')),
                ('log', models.JSONField(blank=True, default=list, help_text='[{at, ok, status, error}] per attempt')),
                ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account')),
                ('history', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='monitoring.alarmhistory')),
                ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='monitoring.notificationendpoint')),
            ],
            options={
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.AddField(
            model_name='alarmrule',
            name='endpoints',
            field=models.ManyToManyField(blank=True, related_name='rules', to='monitoring.notificationendpoint'),
        ),
        migrations.CreateModel(
            name='VmSchedule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('name', models.CharField(max_length=255)),
                ('description', models.TextField(blank=True, default='')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('busy_job', models.UUIDField(blank=True, editable=False, null=True)),
                ('action', models.CharField(choices=[('start', 'Start'), ('stop', 'Stop'), ('reboot', 'Reboot')], max_length=8)),
                ('cron', models.CharField(blank=True, default='', max_length=128)),
                ('interval_seconds', models.PositiveIntegerField(blank=True, null=True)),
                ('timezone', models.CharField(default='UTC', max_length=64)),
                ('state', models.CharField(choices=[('Enabled', 'Enabled'), ('Disabled', 'Disabled')], default='Enabled', max_length=16)),
                ('next_run_at', models.DateTimeField(blank=True, null=True)),
                ('last_run_at', models.DateTimeField(blank=True, null=True)),
                ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='vm_schedules', to='accounts.account')),
                ('vm', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='schedules', to='compute.vminstance')),
            ],
            options={
                'ordering': ['created_at', 'id'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='ScheduleRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('due_at', models.DateTimeField()),
                ('job_uuid', models.UUIDField(blank=True, null=True)),
                ('outcome', models.CharField(help_text='started | refused', max_length=16)),
                ('message', models.TextField(blank=True, default='')),
                ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account')),
                ('schedule', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='monitoring.vmschedule')),
            ],
            options={
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.AddIndex(
            model_name='alarm',
            index=models.Index(fields=['resource_uuid', 'state'], name='alarm_resource_state'),
        ),
        migrations.AddConstraint(
            model_name='alarm',
            constraint=models.UniqueConstraint(fields=('rule', 'resource_uuid'), name='alarm_rule_resource'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['state', 'next_attempt_at'], name='delivery_due'),
        ),
        migrations.AddIndex(
            model_name='alarmrule',
            index=models.Index(fields=['kind', 'muted'], name='alarmrule_kind_muted'),
        ),
        migrations.AddIndex(
            model_name='alarmrule',
            index=models.Index(fields=['event_type'], name='alarmrule_event_type'),
        ),
        migrations.AddIndex(
            model_name='vmschedule',
            index=models.Index(fields=['state', 'next_run_at'], name='vmschedule_due'),
        ),
    ]
