"""CloudPortal settings, driven by the environment.

Zero-setup default (nothing set): SQLite in ``var/``, Celery over the filesystem
transport (``cloudportal/filebroker.py``), events relayed through the database to websockets. Production and CI
set ``DATABASE_URL`` (MariaDB), ``CELERY_BROKER_URL`` and ``REDIS_URL``.
"""
import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CLOUDPORTAL_DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _kept_secret(env_name, filename, nbytes):
    """The environment's value, else one generated once and kept (mode 0600) in DATA_DIR."""
    if os.environ.get(env_name):
        return os.environ[env_name]
    path = DATA_DIR / filename
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _kept_secret("SECRET_KEY", "secret_key", 50)
DEBUG = os.environ.get("DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "*").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "apps.core",
    "apps.accounts",
    "apps.infra",
    "apps.network",
    "apps.storage",
    "apps.compute",
    "apps.monitoring",
    "apps.hybrid",
    "apps.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "apps.monitoring.middleware.ApiLatencyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.AuditMiddleware",
]

ROOT_URLCONF = "cloudportal.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.console.navigation.console",
            ],
        },
    }
]
WSGI_APPLICATION = "cloudportal.wsgi.application"
ASGI_APPLICATION = "cloudportal.asgi.application"

# --- database -------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'cloudportal.sqlite3'}")
# Under ASGI persistent connections leak (see TESTBED) when each request has a thread of its own:
# keep CONN_MAX_AGE at 0 here. The web process (cloudportal/asgi.py: reused request threads)
# keeps its connections WEB_CONN_MAX_AGE seconds; Celery workers WORKER_CONN_MAX_AGE (celery.py).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
WEB_CONN_MAX_AGE = int(os.environ.get("WEB_CONN_MAX_AGE", "60"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: WAL and IMMEDIATE transactions
    # keep concurrent writers from failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # Django's MySQL backend, with atomic blocks begun by START TRANSACTION (apps/core/backends)
    DATABASES["default"]["ENGINE"] = "apps.core.backends.mysql"
    DATABASES["default"]["OPTIONS"] = {
        "charset": "utf8mb4",
        "isolation_level": "read committed",
    }
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- redis, celery, channels ----------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "cloudportal.filebroker:Transport"  # kombu's, woken by inotify instead of polling
    _broker_dir = DATA_DIR / "celery-broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "cloudportal.broker:Transport"  # kombu's, reusing its Redis client
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_IGNORE_RESULT = True  # jobs keep their own results in the database
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes the database connections after every task unless this is set
# (then only every this many tasks); workers recycle them by CONN_MAX_AGE instead (celery.py)
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "0") == "1"
# how often beat asks whether the built-in metrics store's next sample is due (apps.monitoring.tasks)
METRICS_TICK = float(os.environ.get("METRICS_TICK", "2"))
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "reap-dead-jobs": {"task": "apps.core.flows.tasks.reap_jobs", "schedule": 15.0},
    "prune-audit": {"task": "apps.core.flows.tasks.prune_audit", "schedule": 3600.0},
    # hosts are pinged every host.ping.interval; this only decides how often "who is due" is asked
    "ping-hosts": {"task": "apps.infra.tasks.ping_hosts", "schedule": float(os.environ.get("PING_TICK", "5"))},
    "sync-vm-states": {"task": "apps.compute.tasks.sync_vm_states", "schedule": 5.0},  # vm.sync.interval gates it
    "expunge-vms": {"task": "apps.compute.tasks.expunge_vms", "schedule": 60.0},
    # the built-in metrics store's sample; monitoring.sampleInterval decides when one is due
    "collect-metrics": {"task": "apps.monitoring.tasks.collect_metrics", "schedule": METRICS_TICK},
    # metric alarm rules against the store and failed jobs (event rules on status changes need no tick)
    "evaluate-alarms": {"task": "apps.monitoring.tasks.evaluate_alarms",
                        "schedule": float(os.environ.get("ALARM_TICK", "10"))},
    "deliver-notifications": {"task": "apps.monitoring.tasks.deliver_notifications", "schedule": 10.0},  # retries
    "run-vm-schedules": {"task": "apps.monitoring.tasks.run_schedules", "schedule": 15.0},
    "prune-alarm-history": {"task": "apps.monitoring.tasks.prune_history", "schedule": 3600.0},
    # Alibaba Cloud data centres; hybrid.syncInterval (per data centre) decides which are due
    "sync-alibaba-data-centers": {"task": "apps.hybrid.tasks.sync_data_centers", "schedule": 30.0},
    "expunge-volumes": {"task": "apps.storage.tasks.expunge_volumes", "schedule": 60.0},
    # HA: checks of Disconnected hosts with NeverStop VMs (ha/host.check.interval gates them), restarts due
    "ha-tick": {"task": "apps.compute.tasks.ha_tick", "schedule": float(os.environ.get("HA_TICK", "5"))},
}
CELERY_TIMEZONE = "UTC"

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    EVENTS_BACKEND = "channel-layer"
else:
    # Without Redis each process has its own in-memory layer; events written by a
    # worker reach the browser through the database relay (apps.core.events.relay).
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # room for many keys: a full cache drops a third of them, login throttles and used console
    # tokens among them
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                          "OPTIONS": {"MAX_ENTRIES": 100_000}}}
    EVENTS_BACKEND = "database"
EVENTS_BACKEND = os.environ.get("EVENTS_BACKEND", EVENTS_BACKEND)
# apps.core.events.publisher: how long a worker's event waits for others to share its Redis round trip
EVENTS_GATHER_MS = float(os.environ.get("EVENTS_GATHER_MS", "50"))

# --- REST framework -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
        "apps.core.api.renderers.CSVRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.errors.exception_handler",
    # JSON bodies with a lone surrogate or an infinite number are refused (400), not stored
    "DEFAULT_PARSER_CLASSES": ["apps.core.api.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "URL_FORMAT_OVERRIDE": "format",
    # docstrings' ``literals`` shown as code, not as backticks (the browsable API, OPTIONS)
    "VIEW_DESCRIPTION_FUNCTION": "apps.core.api.descriptions.view_description",
}
# A web process trusts a token (its user and account) it read less than this many seconds ago
# without reading it again; a revoked token stops working in every process within this time
# (at once in the process that revoked it). 0 reads the token on every request.
API_TOKEN_CACHE_SECONDS = float(os.environ.get("API_TOKEN_CACHE_SECONDS", "1"))
# configuration rows (images, L3s, their ranges and L2 clusters) a process reuses across jobs (apps.core.rowcache)
ROW_CACHE_SECONDS = float(os.environ.get("ROW_CACHE_SECONDS", "1"))
# apps.core.prepared: also build every prepared query and check its SQL is the kept one (tests)
PREPARED_QUERIES_CHECK = os.environ.get("PREPARED_QUERIES_CHECK", "0") == "1"
SPECTACULAR_SETTINGS = {
    "TITLE": "CloudPortal API",
    "DESCRIPTION": "IaaS portal for KVM data centres: hosts, primary and backup storage, images, L2/L3 networks "
                   "and virtual machines.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "EnableStateEnum": "apps.core.states.EnableState",
        "JobStateEnum": "apps.core.models.job.JobState",
        # an instance's and a disk's billing: one choice set, one name
        "ChargeTypeEnum": "apps.hybrid.serializers.CHARGE_TYPES",
        # a data disk's category, made on its own or with its ECS instance
        "EcsDiskCategoryEnum": "apps.hybrid.serializers.DISK_CATEGORIES",
        "VpnEncryptionAlgorithmEnum": "apps.hybrid.links_serializers.ENC_ALGS",   # IKE and IPsec alike
        "VpnAuthenticationAlgorithmEnum": "apps.hybrid.links_serializers.AUTH_ALGS",
        # the states of Alibaba's VPCs, vSwitches, VRouters, route entries, security groups and EIPs
        "AlibabaNetworkStateEnum": "apps.hybrid.models.network.NetworkState",
        "VolumeSnapshotStatusEnum": "apps.storage.models.volume_snapshot.VolumeSnapshotStatus",
        # a primary storage's type and a VM create's primary_storage_type
        "PrimaryStorageTypeEnum": "apps.storage.models.primary_storage.PrimaryStorageType",
        "VolumeStatusEnum": "apps.storage.models.volume.VolumeStatus",
        "VolumeTypeEnum": "apps.storage.models.volume.VolumeType",
    },
}

# --- jobs -----------------------------------------------------------------
# How long a running job's lease lasts before the reaper considers its worker dead.
JOB_LEASE_SECONDS = float(os.environ.get("JOB_LEASE_SECONDS", "60"))
# A pending job nobody picked up after this long is failed by the reaper.
JOB_PENDING_TIMEOUT_SECONDS = float(os.environ.get("JOB_PENDING_TIMEOUT_SECONDS", "3600"))

# --- static, i18n, logging ------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# noVNC for the VM console, installed by npm (package.json; `make install` runs `npm ci`)
# and served from here: /static/novnc/core/rfb.js. Without it the console page says how to install it.
NOVNC_DIR = BASE_DIR / "node_modules" / "@novnc" / "novnc"
if NOVNC_DIR.is_dir():
    STATICFILES_DIRS.append(("novnc", NOVNC_DIR))
# The browser console's CSS framework (Tabler, with Bootstrap's JS) and htmx, from the same npm
# install: /static/tabler/css/tabler.min.css, /static/tabler/js/tabler.min.js, /static/htmx/htmx.min.js.
# Only the minified files are linked (about 135 KB gzipped together); icons are inline SVG.
NPM_ASSETS = {
    "tabler/css": BASE_DIR / "node_modules" / "@tabler" / "core" / "dist" / "css",
    "tabler/js": BASE_DIR / "node_modules" / "@tabler" / "core" / "dist" / "js",
    "htmx": BASE_DIR / "node_modules" / "htmx.org" / "dist",
    # the metric charts of host and VM pages (only those pages load it): /static/uplot/uPlot.iife.min.js
    "uplot": BASE_DIR / "node_modules" / "uplot" / "dist",
}
STATICFILES_DIRS += [(prefix, path) for prefix, path in NPM_ASSETS.items() if path.is_dir()]
# Collected into STATIC_ROOT with a .gz beside each file (cloudportal/staticfiles.py): what `make run`
# serves, compressed. A web server not started by runportal (tests, runserver) serves the files
# where the finders find them, uncompressed and as they are edited.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "cloudportal.staticfiles.CompressedStaticFiles"},
}
WHITENOISE_USE_FINDERS = os.environ.get("STATIC_COLLECTED", "0") != "1"
LANGUAGE_CODE = "en-us"
# The browser console speaks English and Simplified Chinese (locale/zh_Hans, the compiled .mo is
# committed: no gettext needed to run); the language switch remembers the choice in a cookie.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOGIN_URL = "/ui/login/"   # the browser console's (apps.console); the browsable API keeps its own
# Every password check counts failed logins per user name and per client address
# (apps.accounts.throttle): this many failures within the window refuse that name or address
# for the next window (429 with Retry-After). Counted in the cache: shared by every web process
# with REDIS_URL, per process without it.
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.ThrottledModelBackend"]
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "10"))
LOGIN_FAILURE_WINDOW = int(os.environ.get("LOGIN_FAILURE_WINDOW", "60"))
# reverse proxies in front of the web processes whose X-Forwarded-For entries are trusted (0: none)
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
LOGIN_REDIRECT_URL = "/api/v1/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- email (alarm notifications, apps.monitoring.delivery) ----------------------
# With EMAIL_HOST set, mail goes to that SMTP server; without it (zero setup) it is printed on the output.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
EMAIL_TIMEOUT = 10
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "cloudportal@localhost")

# --- secrets at rest (apps.core.secrets) ------------------------------------
CLOUDPORTAL_SECRETS_KEY = os.environ.get("CLOUDPORTAL_SECRETS_KEY", "")

# --- host agents -------------------------------------------------------------
# The simulator agent (hostagent --backend sim) serving every Simulator host;
# `make run` starts one. PORTAL_URL is where agents send their events.
# Port 7071 beside web port 8000, moved by as much as PORT is from 8000 (runportal: the same, or a
# free port when that one is taken; it tells its children).
_sim_port = 7071 + int(os.environ.get("PORT", "8000")) - 8000
SIM_AGENT_URL = os.environ.get("SIM_AGENT_URL") or f"http://127.0.0.1:{_sim_port if 1024 <= _sim_port <= 65535 else 7071}"
SIM_AGENT_TOKEN = _kept_secret("SIM_AGENT_TOKEN", "sim_agent_token", 24)
PORTAL_URL = os.environ.get("PORTAL_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")

# --- metrics (apps.monitoring) ------------------------------------------------
# Prometheus's base URL (http://host:9090): the portal reads metrics from it. Unset: the built-in
# store, filled by the beat collector (docs/monitoring.md).
PROMETHEUS_URL = os.environ.get("PROMETHEUS_URL", "")
PROMETHEUS_TIMEOUT = float(os.environ.get("PROMETHEUS_TIMEOUT", "10"))
# The portal's own metrics at /metrics (apps.monitoring.portal_metrics): readable by admin accounts,
# and by whoever presents this bearer token (a Prometheus scrape job), when it is set.
METRICS_BEARER_TOKEN = os.environ.get("METRICS_BEARER_TOKEN", "")
# Every web and worker process writes its counts here (prometheus-client's multi-process mode, which
# reads the variable when it is imported: so it is set here, before any app imports it); runportal
# empties it at start.
PROMETHEUS_MULTIPROC_DIR = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "portal-metrics"))
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

# --- Alibaba Cloud (apps.hybrid, docs/hybrid.md) --------------------------------------------------
# Unset: the real service (each product's regional endpoint). Set (http://127.0.0.1:7090, the
# emulator the project ships, which `make run` starts): ECS, VPC and OSS are all called there.
ALIBABA_CLOUD_ENDPOINT = os.environ.get("ALIBABA_CLOUD_ENDPOINT", "")
# The AccessKey `manage.py demo` adds to the admin account as its default (`make run` sets the
# emulator's demo key here).
ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID = os.environ.get("ALIBABA_CLOUD_DEMO_ACCESS_KEY_ID", "")
ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET = os.environ.get("ALIBABA_CLOUD_DEMO_ACCESS_KEY_SECRET", "")
